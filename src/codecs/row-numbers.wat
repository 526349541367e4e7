;; row-numbers.wat — the inner loop of row-scanner.ts: one innermost array's comma-separated JSON
;; numbers read from bytes into doubles, as row-scanner's readNumbers does in JavaScript. TurboFan's
;; code for that loop checks the index for overflow, the bounds and the interrupt flag at every
;; byte; these loads need none of it. scanRowsBody of the bench's 1×3×224×224 image went from
;; 1.9-2.1 ms to 1.2-1.4 ms (fastest of 7 runs, in 6 processes each, interleaved).
;; Built by `npm run build:wasm` into row-numbers.wasm, which is committed; a test checks that the
;; committed file is this text's build.
;;
;; Memory: 10^0..10^22 (each exact as a double) at byte 0, set by $start; the caller copies the
;; body to byte 256 and up, and gives where the doubles go. It only ever answers what readNumbers
;; would: a number it cannot read as that exact double it leaves to readNumbers (-2).

(module
  (memory (export "memory") 1)
  ;; How many doubles the output holds after the last readNumbers that answered.
  (global $filled (export "filled") (mut i32) (i32.const 0))

  (func $start
    (local $k i32) (local $p f64)
    (local.set $p (f64.const 1))
    (loop $next
      (f64.store (i32.shl (local.get $k) (i32.const 3)) (local.get $p))
      (local.set $p (f64.mul (local.get $p) (f64.const 10)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $k) (i32.const 23)))))
  (start $start)

  ;; $nearFloat32Tie says whether a positive double d, read approximately (a mantissa beyond
  ;; 2^53, or a power of ten beyond 10^±22: at most three roundings, m to a double and up to two
  ;; scalings, so within 1.5·2^-52 of the decimal, relative), may round to a float32 other than
  ;; the one the decimal's own double (JSON.parse's, within 2^-53 of it) rounds to: when it lies
  ;; within 2^-50·d (4 ulps) of a float32 rounding midpoint, or outside [1e-37, 1e38] (near the
  ;; subnormals, near overflow). Anything farther from a midpoint rounds, as that double does, to
  ;; the float32 nearest d. True: Number() decides.
  (func $nearFloat32Tie (param $d f64) (result i32)
    (local $f f32) (local $fd f64) (local $bits i32) (local $mid f64)
    (if (i32.or (f64.lt (local.get $d) (f64.const 1e-37)) (f64.gt (local.get $d) (f64.const 1e38))) (then (return (i32.const 1))))
    (local.set $f (f32.demote_f64 (local.get $d)))
    (local.set $fd (f64.promote_f32 (local.get $f)))
    (if (f64.eq (local.get $fd) (local.get $d)) (then (return (i32.const 0))))
    (local.set $bits (i32.reinterpret_f32 (local.get $f)))
    ;; The midpoint between f and its neighbour on d's side (exact in a double: 25 bits).
    (local.set $mid (f64.mul (f64.const 0.5) (f64.add (local.get $fd)
      (f64.promote_f32 (f32.reinterpret_i32 (if (result i32) (f64.gt (local.get $d) (local.get $fd))
        (then (i32.add (local.get $bits) (i32.const 1)))
        (else (i32.sub (local.get $bits) (i32.const 1)))))))))
    (f64.le (f64.abs (f64.sub (local.get $d) (local.get $mid))) (f64.mul (local.get $d) (f64.const 0x1p-50))))

  (func $isDigit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
  (func $isSpace (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
            (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9)))))

  ;; readNumbers reads the numbers starting at byte $i into doubles from $out + 8·$n on and gives
  ;; the index of what follows the last (a "]" when the array is well formed), with filled set;
  ;; -1 for what is not a JSON number; or -2 at a number only Number() reads exactly (more than
  ;; 19 digits, a mantissa beyond 2^53, a power of ten beyond 10^±22). The body must end in a
  ;; byte that is not part of a number ("}"): every loop stops there.
  (func (export "readNumbers") (param $i i32) (param $out i32) (param $n i32) (result i32)
    (local $c i32) (local $negative i32) (local $m i64) (local $digits i32)
    (local $from i32) (local $fraction i32) (local $exponent i32) (local $negativeExponent i32)
    (local $e10 i32) (local $value f64)
    (local.set $c (i32.load8_u (local.get $i)))
    (block $done
      (loop $number
        ;; -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
        (local.set $negative (i32.eq (local.get $c) (i32.const 45)))
        (if (local.get $negative) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))))
        (local.set $m (i64.const 0))
        (local.set $digits (i32.const 0))
        (local.set $fraction (i32.const 0))
        (if (i32.eq (local.get $c) (i32.const 48))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (if (call $isDigit (local.get $c)) (then (return (i32.const -1))))) ;; a leading zero
          (else
            (if (i32.ge_u (i32.sub (local.get $c) (i32.const 49)) (i32.const 9)) (then (return (i32.const -1))))
            (local.set $from (local.get $i))
            (loop $integer
              (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (local.set $c (i32.load8_u (local.get $i)))
              (br_if $integer (call $isDigit (local.get $c))))
            (local.set $digits (i32.sub (local.get $i) (local.get $from)))))
        (if (i32.eq (local.get $c) (i32.const 46)) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.eqz (call $isDigit (local.get $c))) (then (return (i32.const -1))))
          (local.set $from (local.get $i))
          (loop $fractionDigits
            (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br_if $fractionDigits (call $isDigit (local.get $c))))
          (local.set $fraction (i32.sub (local.get $i) (local.get $from)))
          (local.set $digits (i32.add (local.get $digits) (local.get $fraction)))))
        (local.set $exponent (i32.const 0))
        (if (i32.or (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $c) (i32.const 69))) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))
          (local.set $negativeExponent (i32.eq (local.get $c) (i32.const 45)))
          (if (i32.or (local.get $negativeExponent) (i32.eq (local.get $c) (i32.const 43))) (then
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))))
          (if (i32.eqz (call $isDigit (local.get $c))) (then (return (i32.const -1))))
          (loop $exponentDigits
            (if (i32.lt_u (local.get $exponent) (i32.const 100000)) (then
              (local.set $exponent (i32.add (i32.mul (local.get $exponent) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br_if $exponentDigits (call $isDigit (local.get $c))))
          (if (local.get $negativeExponent) (then (local.set $exponent (i32.sub (i32.const 0) (local.get $exponent)))))))
        ;; m exact as a double and 10^|e10| exact: one correctly rounded operation, the double
        ;; JSON.parse gives (Clinger's fast path). Anything else is readNumbers' to read.
        (local.set $e10 (i32.sub (local.get $exponent) (local.get $fraction)))
        ;; Past 19 digits m may have wrapped (mod 2^64): whatever it holds, readNumbers reads it.
        (if (i32.or (i32.or (i64.gt_u (local.get $m) (i64.const 9007199254740991)) (i32.gt_u (local.get $digits) (i32.const 19)))
                    (i32.gt_u (i32.add (local.get $e10) (i32.const 22)) (i32.const 44)))
          (then (return (i32.const -2))))
        (local.set $value (f64.convert_i64_u (local.get $m)))
        (local.set $value (if (result f64) (i32.lt_s (local.get $e10) (i32.const 0))
          (then (f64.div (local.get $value) (f64.load (i32.shl (i32.sub (i32.const 0) (local.get $e10)) (i32.const 3)))))
          (else (f64.mul (local.get $value) (f64.load (i32.shl (local.get $e10) (i32.const 3)))))))
        (if (local.get $negative) (then (local.set $value (f64.neg (local.get $value)))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 3))) (local.get $value))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        ;; Most numbers are followed straight by "," or "]": one compare rules out space.
        (if (i32.le_u (local.get $c) (i32.const 32)) (then
          (block $spaced (loop $space
            (br_if $spaced (i32.eqz (call $isSpace (local.get $c))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br $space)))))
        (br_if $done (i32.ne (local.get $c) (i32.const 44)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.le_u (local.get $c) (i32.const 32)) (then
          (block $spacedAfterComma (loop $spaceAfterComma
            (br_if $spacedAfterComma (i32.eqz (call $isSpace (local.get $c))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br $spaceAfterComma)))))
        (br $number)))
    (global.set $filled (local.get $n))
    (local.get $i))

  ;; readFloat32s is readNumbers writing float32 values from $out + 4·$n on, each exactly
  ;; Math.fround of the double JSON.parse gives. It also reads, approximately, a mantissa past
  ;; 2^53 (up to 19 significant digits: zeros after "0." do not count) and a power of ten past
  ;; 10^±22 (up to 44, in two steps), as a server prints an FP32 output widened to double (17
  ;; digits), and keeps such a value only when $nearFloat32Tie says it cannot round otherwise;
  ;; else -2. A function of its own: folded into readNumbers, the extra tests made the row
  ;; scanner's reading of an image body about 40% slower.
  (func (export "readFloat32s") (param $i i32) (param $out i32) (param $n i32) (result i32)
    (local $c i32) (local $negative i32) (local $m i64) (local $digits i32)
    (local $from i32) (local $fraction i32) (local $exponent i32) (local $negativeExponent i32)
    (local $e10 i32) (local $value f64) (local $approximate i32) (local $zeros i32)
    (local.set $c (i32.load8_u (local.get $i)))
    (block $done
      (loop $number
        ;; -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
        (local.set $negative (i32.eq (local.get $c) (i32.const 45)))
        (if (local.get $negative) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))))
        (local.set $m (i64.const 0))
        (local.set $digits (i32.const 0))
        (local.set $zeros (i32.const 0))
        (local.set $fraction (i32.const 0))
        (if (i32.eq (local.get $c) (i32.const 48))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (if (call $isDigit (local.get $c)) (then (return (i32.const -1))))) ;; a leading zero
          (else
            (if (i32.ge_u (i32.sub (local.get $c) (i32.const 49)) (i32.const 9)) (then (return (i32.const -1))))
            (local.set $from (local.get $i))
            (loop $integer
              (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (local.set $c (i32.load8_u (local.get $i)))
              (br_if $integer (call $isDigit (local.get $c))))
            (local.set $digits (i32.sub (local.get $i) (local.get $from)))))
        (if (i32.eq (local.get $c) (i32.const 46)) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))
          (if (i32.eqz (call $isDigit (local.get $c))) (then (return (i32.const -1))))
          (local.set $from (local.get $i))
          (loop $fractionDigits
            ;; Zeros before the first significant digit (0.0001…) add nothing to m.
            (if (i64.eqz (local.get $m)) (then (local.set $zeros (i32.add (local.get $zeros) (i32.const 1)))))
            (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10)) (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br_if $fractionDigits (call $isDigit (local.get $c))))
          (local.set $fraction (i32.sub (local.get $i) (local.get $from)))
          (local.set $digits (i32.add (local.get $digits) (local.get $fraction)))))
        (local.set $exponent (i32.const 0))
        (if (i32.or (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $c) (i32.const 69))) (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $i)))
          (local.set $negativeExponent (i32.eq (local.get $c) (i32.const 45)))
          (if (i32.or (local.get $negativeExponent) (i32.eq (local.get $c) (i32.const 43))) (then
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))))
          (if (i32.eqz (call $isDigit (local.get $c))) (then (return (i32.const -1))))
          (loop $exponentDigits
            (if (i32.lt_u (local.get $exponent) (i32.const 100000)) (then
              (local.set $exponent (i32.add (i32.mul (local.get $exponent) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br_if $exponentDigits (call $isDigit (local.get $c))))
          (if (local.get $negativeExponent) (then (local.set $exponent (i32.sub (i32.const 0) (local.get $exponent)))))))
        ;; m exact as a double and 10^|e10| exact: one correctly rounded operation, the double
        ;; JSON.parse gives (Clinger's fast path). Anything else is readNumbers' to read.
        (local.set $e10 (i32.sub (local.get $exponent) (local.get $fraction)))
        ;; Past 19 digits m may have wrapped (mod 2^64): whatever it holds, readNumbers reads it.
        ;; For float32 values the approximate path also takes a power of ten beyond 10^±22, in two
        ;; steps (each exact power, each operation rounded once): 1.2345678e-7 printed to 17 digits.
        (local.set $approximate (i32.or (i64.gt_u (local.get $m) (i64.const 9007199254740991))
                                        (i32.gt_u (i32.add (local.get $e10) (i32.const 22)) (i32.const 44))))
        (if (i32.or (i32.gt_u (i32.sub (local.get $digits) (local.get $zeros)) (i32.const 19))
                    (i32.gt_u (i32.add (local.get $e10) (i32.const 44)) (i32.const 88)))
          (then (return (i32.const -2))))
        (local.set $value (f64.convert_i64_u (local.get $m)))
        (if (i32.lt_s (local.get $e10) (i32.const -22)) (then
          (local.set $value (f64.div (local.get $value) (f64.load (i32.const 176)))) ;; 10^22
          (local.set $e10 (i32.add (local.get $e10) (i32.const 22)))))
        (if (i32.gt_s (local.get $e10) (i32.const 22)) (then
          (local.set $value (f64.mul (local.get $value) (f64.load (i32.const 176))))
          (local.set $e10 (i32.sub (local.get $e10) (i32.const 22)))))
        (local.set $value (if (result f64) (i32.lt_s (local.get $e10) (i32.const 0))
          (then (f64.div (local.get $value) (f64.load (i32.shl (i32.sub (i32.const 0) (local.get $e10)) (i32.const 3)))))
          (else (f64.mul (local.get $value) (f64.load (i32.shl (local.get $e10) (i32.const 3)))))))
        ;; (Nested, not i32.and: that would call it for every number.)
        (if (local.get $approximate) (then
          (if (call $nearFloat32Tie (local.get $value)) (then (return (i32.const -2))))))
        (if (local.get $negative) (then (local.set $value (f64.neg (local.get $value)))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))) (f32.demote_f64 (local.get $value)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        ;; Most numbers are followed straight by "," or "]": one compare rules out space.
        (if (i32.le_u (local.get $c) (i32.const 32)) (then
          (block $spaced (loop $space
            (br_if $spaced (i32.eqz (call $isSpace (local.get $c))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br $space)))))
        (br_if $done (i32.ne (local.get $c) (i32.const 44)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $i)))
        (if (i32.le_u (local.get $c) (i32.const 32)) (then
          (block $spacedAfterComma (loop $spaceAfterComma
            (br_if $spacedAfterComma (i32.eqz (call $isSpace (local.get $c))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $i)))
            (br $spaceAfterComma)))))
        (br $number)))
    (global.set $filled (local.get $n))
    (local.get $i))
)
