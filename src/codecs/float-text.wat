;; float-text.wat — a float32 value widened to double, written as JavaScript writes that double
;; (Number.prototype.toString: the fewest digits that read back as it, the closest of those, the
;; even one on a tie). An FP32 model's predictions are such doubles (0.123f is printed
;; 0.12300000339746475, as numpy's tolist() gives it), and V8 takes 70-145 ns for each.
;; Why it is exact: |x| has at most 24 significant bits, so X = |x|·10^p (p ≤ 22, 10^p exact) is
;; exactly hi + lo (Dekker's product; |x| needs only the high half of the split). The doubles that
;; read back as x lie within half a double ulp of it: scaled, X − below … X + above. The shortest
;; text is the multiple of the largest 10^j in that interval; every candidate is hi plus a small
;; integer d, and every decision is the sign of d + lo ± a half-width, taken exactly. What it
;; cannot decide that way, and |x| outside [1e-6, 1e16), it leaves to JavaScript's String(x).
;; Built by `npm run build:wasm` into float-text.wasm, which is committed; a test checks that the
;; committed file is this text's build.
;;
;; Memory: 0 10^p (23 doubles), 184 their high halves, 368 their low halves, 552 "00".."99",
;; 768 the 17 digits being written; from 1024 the caller's text (float-text.ts).

(module
  (memory (export "memory") 1)
  (global $chosen (mut f64) (f64.const 0))

  ;; init fills the tables; the caller runs it on every fresh instance.
  (func (export "init")
    (local $p i32) (local $v f64) (local $c f64) (local $h f64) (local $n i32)
    (local.set $v (f64.const 1))
    (loop $powers
      (f64.store (i32.shl (local.get $p) (i32.const 3)) (local.get $v))
      ;; Veltkamp's split at 27 bits: h keeps the top 26.
      (local.set $c (f64.mul (f64.const 134217729) (local.get $v)))
      (local.set $h (f64.sub (local.get $c) (f64.sub (local.get $c) (local.get $v))))
      (f64.store (i32.add (i32.const 184) (i32.shl (local.get $p) (i32.const 3))) (local.get $h))
      (f64.store (i32.add (i32.const 368) (i32.shl (local.get $p) (i32.const 3))) (f64.sub (local.get $v) (local.get $h)))
      (local.set $v (f64.mul (local.get $v) (f64.const 10)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $powers (i32.lt_u (local.get $p) (i32.const 23))))
    (loop $pairs
      (i32.store8 (i32.add (i32.const 552) (i32.shl (local.get $n) (i32.const 1))) (i32.add (i32.const 48) (i32.div_u (local.get $n) (i32.const 10))))
      (i32.store8 (i32.add (i32.const 553) (i32.shl (local.get $n) (i32.const 1))) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $pairs (i32.lt_u (local.get $n) (i32.const 100)))))

  (func $pow10 (param $p i32) (result f64)
    (f64.load (i32.shl (local.get $p) (i32.const 3))))

  ;; sign3 gives the sign of d + x + y (d a small integer, |x|, |y| ≤ 16) exactly: two error-free
  ;; sums leave t + f + g with f and g far below t unless t is nearly 0, where it gives 2 (unsure).
  (func $sign3 (param $d f64) (param $x f64) (param $y f64) (result i32)
    (local $s f64) (local $b f64) (local $g f64) (local $t f64) (local $f f64)
    (local.set $s (f64.add (local.get $d) (local.get $x)))
    (local.set $b (f64.sub (local.get $s) (local.get $d)))
    (local.set $g (f64.add (f64.sub (local.get $d) (f64.sub (local.get $s) (local.get $b))) (f64.sub (local.get $x) (local.get $b))))
    (local.set $t (f64.add (local.get $s) (local.get $y)))
    (local.set $b (f64.sub (local.get $t) (local.get $s)))
    (local.set $f (f64.add (f64.sub (local.get $s) (f64.sub (local.get $t) (local.get $b))) (f64.sub (local.get $y) (local.get $b))))
    (if (f64.gt (local.get $t) (f64.const 1e-12)) (then (return (i32.const 1))))
    (if (f64.lt (local.get $t) (f64.const -1e-12)) (then (return (i32.const -1))))
    (if (i32.and (f64.eq (local.get $t) (f64.const 0)) (f64.eq (f64.add (local.get $f) (local.get $g)) (f64.const 0)))
      (then (return (i32.const 0))))
    (i32.const 2))

  ;; within gives 1 when hi + d lies in the interval, 0 when it does not, 2 when unsure.
  (func $within (param $d f64) (param $lo f64) (param $below f64) (param $above f64) (result i32)
    (local $v f64) (local $s i32)
    (if (f64.gt (f64.abs (local.get $d)) (f64.const 64)) (then (return (i32.const 0))))
    ;; hi + d ≤ X: X − C = lo − d ≤ below; else C − X = d − lo ≤ above. Plain doubles err by
    ;; under 1e-13 here (every term under 100): only a margin under 1e-9 takes the exact sign.
    (if (f64.ge (local.get $lo) (local.get $d))
      (then
        (local.set $v (f64.sub (f64.sub (local.get $lo) (local.get $d)) (local.get $below)))
        (if (f64.lt (local.get $v) (f64.const -1e-9)) (then (return (i32.const 1))))
        (if (f64.gt (local.get $v) (f64.const 1e-9)) (then (return (i32.const 0))))
        (local.set $s (call $sign3 (f64.neg (local.get $d)) (local.get $lo) (f64.neg (local.get $below)))))
      (else
        (local.set $v (f64.sub (f64.sub (local.get $d) (local.get $lo)) (local.get $above)))
        (if (f64.lt (local.get $v) (f64.const -1e-9)) (then (return (i32.const 1))))
        (if (f64.gt (local.get $v) (f64.const 1e-9)) (then (return (i32.const 0))))
        (local.set $s (call $sign3 (local.get $d) (f64.neg (local.get $lo)) (f64.neg (local.get $above))))))
    (if (i32.eq (local.get $s) (i32.const 2)) (then (return (i32.const 2))))
    (i32.le_s (local.get $s) (i32.const 0)))

  ;; pickAt says whether a multiple of 10^j lies in the interval (1), not (0), or unsure (2); on 1
  ;; $chosen is the offset from hi of the one closest to X (the even one on a tie).
  (func $pickAt (param $j i32) (param $lo f64) (param $rest i32) (param $top i32) (param $below f64) (param $above f64) (result i32)
    (local $m f64) (local $down f64) (local $up f64) (local $q i32) (local $big i32)
    (local $inDown i32) (local $inUp i32) (local $twice f64) (local $sum f64) (local $digit i32) (local $r i32) (local $t i32)
    (local.set $m (call $pow10 (local.get $j)))
    (if (i32.eqz (local.get $j))
      (then
        (local.set $down (f64.floor (local.get $lo)))
        (local.set $up (f64.add (local.get $down) (f64.const 1))))
      (else
        (if (i32.le_u (local.get $j) (i32.const 8))
          (then
            ;; 10 and 100 as constants (a multiply, where a divisor in a register is a division).
            (local.set $r (if (result i32) (i32.eq (local.get $j) (i32.const 1))
              (then (i32.rem_u (local.get $rest) (i32.const 10)))
              (else (if (result i32) (i32.eq (local.get $j) (i32.const 2))
                (then (i32.rem_u (local.get $rest) (i32.const 100)))
                (else (i32.rem_u (local.get $rest) (i32.trunc_f64_u (local.get $m))))))))
            (local.set $down (f64.neg (f64.convert_i32_u (local.get $r))))
            (local.set $up (f64.sub (local.get $m) (f64.convert_i32_u (local.get $r)))))
          (else
            ;; hi mod 10^j: only a remainder within a few units of 0 or of 10^j can matter.
            (local.set $big (i32.trunc_f64_u (call $pow10 (i32.sub (local.get $j) (i32.const 8)))))
            (local.set $q (i32.rem_u (local.get $top) (local.get $big)))
            (if (i32.eqz (local.get $q))
              (then
                (local.set $down (f64.neg (f64.convert_i32_u (local.get $rest))))
                (local.set $up (f64.add (local.get $down) (local.get $m))))
              (else
                (if (i32.ne (local.get $q) (i32.sub (local.get $big) (i32.const 1))) (then (return (i32.const 0))))
                (local.set $up (f64.sub (f64.const 1e8) (f64.convert_i32_u (local.get $rest))))
                (local.set $down (f64.sub (local.get $up) (local.get $m)))))))
        ;; The two multiples either side of X (|lo| ≤ 8 < 10^j).
        (if (f64.lt (local.get $lo) (local.get $down))
          (then
            (local.set $up (local.get $down))
            (local.set $down (f64.sub (local.get $down) (local.get $m))))
          (else
            (if (f64.ge (local.get $lo) (local.get $up))
              (then
                (local.set $down (local.get $up))
                (local.set $up (f64.add (local.get $up) (local.get $m)))))))))
    (local.set $inDown (call $within (local.get $down) (local.get $lo) (local.get $below) (local.get $above)))
    (local.set $inUp (call $within (local.get $up) (local.get $lo) (local.get $below) (local.get $above)))
    (if (i32.or (i32.eq (local.get $inDown) (i32.const 2)) (i32.eq (local.get $inUp) (i32.const 2))) (then (return (i32.const 2))))
    (if (i32.eqz (i32.or (local.get $inDown) (local.get $inUp))) (then (return (i32.const 0))))
    (if (i32.eqz (local.get $inDown)) (then (global.set $chosen (local.get $up)) (return (i32.const 1))))
    (if (i32.eqz (local.get $inUp)) (then (global.set $chosen (local.get $down)) (return (i32.const 1))))
    ;; Both: the closer to X; X − C_down against C_up − X is 2·lo against down + up, both exact.
    (local.set $twice (f64.mul (local.get $lo) (f64.const 2)))
    (local.set $sum (f64.add (local.get $down) (local.get $up)))
    (if (f64.lt (local.get $twice) (local.get $sum)) (then (global.set $chosen (local.get $down)) (return (i32.const 1))))
    (if (f64.gt (local.get $twice) (local.get $sum)) (then (global.set $chosen (local.get $up)) (return (i32.const 1))))
    ;; A tie: the candidate whose digit at 10^j is even.
    (local.set $twice (f64.add (f64.convert_i32_u (local.get $rest)) (local.get $down)))
    (local.set $t (local.get $top))
    (if (f64.lt (local.get $twice) (f64.const 0))
      (then (local.set $t (i32.sub (local.get $t) (i32.const 1))) (local.set $twice (f64.add (local.get $twice) (f64.const 1e8)))))
    (if (f64.ge (local.get $twice) (f64.const 1e8))
      (then (local.set $t (i32.add (local.get $t) (i32.const 1))) (local.set $twice (f64.sub (local.get $twice) (f64.const 1e8)))))
    (if (i32.lt_u (local.get $j) (i32.const 8))
      (then (local.set $digit (i32.trunc_f64_u (f64.div (local.get $twice) (local.get $m)))))
      (else (local.set $digit (i32.div_u (local.get $t) (i32.trunc_f64_u (call $pow10 (i32.sub (local.get $j) (i32.const 8))))))))
    (global.set $chosen (select (local.get $down) (local.get $up) (i32.eqz (i32.and (local.get $digit) (i32.const 1)))))
    (i32.const 1))

  ;; wrap gives t (in (−m, 2m)) less the multiple of m that puts it in [0, m).
  (func $wrap (param $t f64) (param $m f64) (result f64)
    (if (f64.lt (local.get $t) (f64.const 0)) (then (return (f64.add (local.get $t) (local.get $m)))))
    (if (f64.ge (local.get $t) (local.get $m)) (then (return (f64.sub (local.get $t) (local.get $m)))))
    (local.get $t))

  ;; commonCase decides most values (nine in ten of outputs in [-1, 1]) without the search: no
  ;; multiple of 100 in the interval, then the one multiple of 10 in it, or the closer of two (16
  ;; digits: gives 2), or, with none and the interval even, the integer nearest X (17 digits: gives
  ;; 1; away from a power of two the interval is at least 0.55 either side of X, and f64.nearest
  ;; takes the even one on a tie), with $chosen set as pickAt sets it; 0 for anything else (a tie,
  ;; an uneven interval): the search decides. A third multiple of 10 may lie in a wide interval
  ;; (above reaches 11), never closer than these two. Every value here is exact, so every
  ;; comparison is: lo is a multiple of 2^(E+p) ≥ 2^-20 (X = M·5^p·2^(E+p) with M·5^p below 2^76
  ;; and X above 2^53) and |lo| ≤ 8, so its sum with an integer under 100 is exact, and below and
  ;; above are 2^k·10^p.
  (func $commonCase (param $lo f64) (param $rest i32) (param $below f64) (param $above f64) (result i32)
    (local $r2 i32) (local $down f64) (local $downIn i32) (local $upIn i32)
    (local.set $r2 (i32.rem_u (local.get $rest) (i32.const 100)))
    ;; How far X lies above the multiple of 100 at or below it: that one or the next in reach?
    (local.set $down (call $wrap (f64.add (f64.convert_i32_u (local.get $r2)) (local.get $lo)) (f64.const 100)))
    (if (f64.le (local.get $down) (local.get $below)) (then (return (i32.const 0))))
    (if (f64.le (f64.sub (f64.const 100) (local.get $down)) (local.get $above)) (then (return (i32.const 0))))
    ;; The same for 10: the multiples at down below X and at 10 − down above it.
    (local.set $down (call $wrap (f64.add (f64.convert_i32_u (i32.rem_u (local.get $r2) (i32.const 10))) (local.get $lo)) (f64.const 10)))
    (local.set $downIn (f64.le (local.get $down) (local.get $below)))
    (local.set $upIn (f64.le (f64.sub (f64.const 10) (local.get $down)) (local.get $above)))
    (if (i32.and (local.get $downIn) (local.get $upIn)) (then
      (if (f64.eq (local.get $down) (f64.const 5)) (then (return (i32.const 0))))
      (local.set $upIn (f64.gt (local.get $down) (f64.const 5)))
      (local.set $downIn (i32.eqz (local.get $upIn)))))
    (if (local.get $downIn) (then (global.set $chosen (f64.sub (local.get $lo) (local.get $down))) (return (i32.const 2))))
    (if (local.get $upIn) (then (global.set $chosen (f64.add (f64.sub (local.get $lo) (local.get $down)) (f64.const 10))) (return (i32.const 2))))
    (if (f64.ne (local.get $below) (local.get $above)) (then (return (i32.const 0))))
    (global.set $chosen (f64.nearest (local.get $lo)))
    (i32.const 1))

  ;; four writes the four digits of n (< 10^4) at $at.
  (func $four (param $at i32) (param $n i32)
    (local $h i32)
    (local.set $h (i32.div_u (local.get $n) (i32.const 100)))
    (i32.store16 (local.get $at) (i32.load16_u (i32.add (i32.const 552) (i32.shl (local.get $h) (i32.const 1)))))
    (i32.store16 (i32.add (local.get $at) (i32.const 2))
      (i32.load16_u (i32.add (i32.const 552) (i32.shl (i32.sub (local.get $n) (i32.mul (local.get $h) (i32.const 100))) (i32.const 1))))))

  ;; copy17 copies 17 bytes from $from to $to; the caller counts only those it wants (the text
  ;; always has room for a whole number after it: float-text.ts bounds it by 25 bytes a value).
  (func $copy17 (param $to i32) (param $from i32)
    (i64.store (local.get $to) (i64.load (local.get $from)))
    (i64.store (i32.add (local.get $to) (i32.const 8)) (i64.load (i32.add (local.get $from) (i32.const 8))))
    (i32.store8 (i32.add (local.get $to) (i32.const 16)) (i32.load8_u (i32.add (local.get $from) (i32.const 16)))))

  ;; zeros writes "0" from $at: 16 of them, of which the caller counts those it wants.
  (func $zeros (param $at i32)
    (i64.store (local.get $at) (i64.const 0x3030303030303030))
    (i64.store (i32.add (local.get $at) (i32.const 8)) (i64.const 0x3030303030303030)))

  ;; widened writes x (finite, a float32 value) at $at as String(x) writes it and gives the
  ;; address after it, or -1 where String(x) must write it (nothing written then counts).
  (func (export "widened") (param $x f64) (param $at i32) (result i32)
    (local $a f64) (local $bits i64) (local $e i32) (local $p i32) (local $tries i32)
    (local $hi f64) (local $lo f64) (local $above f64) (local $below f64)
    (local $top i32) (local $rest i32) (local $topF f64) (local $restF f64)
    (local $j i32) (local $res i32) (local $count i32) (local $whole i32) (local $t5 i32) (local $t1 i32) (local $r4 i32)
    (if (f64.eq (local.get $x) (f64.const 0))
      (then (i32.store8 (local.get $at) (i32.const 48)) (return (i32.add (local.get $at) (i32.const 1)))))
    (local.set $a (f64.abs (local.get $x)))
    (if (f64.lt (local.get $x) (f64.const 0))
      (then (i32.store8 (local.get $at) (i32.const 45)) (local.set $at (i32.add (local.get $at) (i32.const 1)))))
    (if (i32.eqz (i32.and (f64.ge (local.get $a) (f64.const 1e-6)) (f64.lt (local.get $a) (f64.const 1e16))))
      (then (return (i32.const -1))))
    (local.set $bits (i64.reinterpret_f64 (local.get $a)))
    (local.set $e (i32.sub (i32.wrap_i64 (i64.shr_u (local.get $bits) (i64.const 52))) (i32.const 1023)))
    ;; p makes X = a·10^p a 17-digit number, [1e16, 1e17): from the binary exponent, then corrected.
    (local.set $p (i32.sub (i32.const 16) (i32.trunc_f64_s (f64.floor (f64.mul (f64.convert_i32_s (local.get $e)) (f64.const 0.3010299956639812))))))
    (if (i32.gt_s (local.get $p) (i32.const 22)) (then (local.set $p (i32.const 22))))
    (block $found
      (loop $scale
        (if (i32.or (i32.gt_u (local.get $p) (i32.const 22)) (i32.gt_u (local.get $tries) (i32.const 3))) (then (return (i32.const -1))))
        (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (local.set $hi (f64.mul (local.get $a) (call $pow10 (local.get $p))))
        (local.set $lo (f64.add
          (f64.sub (f64.mul (local.get $a) (f64.load (i32.add (i32.const 184) (i32.shl (local.get $p) (i32.const 3))))) (local.get $hi))
          (f64.mul (local.get $a) (f64.load (i32.add (i32.const 368) (i32.shl (local.get $p) (i32.const 3)))))))
        (if (i32.or (f64.lt (local.get $hi) (f64.const 1e16)) (i32.and (f64.eq (local.get $hi) (f64.const 1e16)) (f64.lt (local.get $lo) (f64.const 0))))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $scale)))
        (if (f64.ge (local.get $hi) (f64.const 1e17))
          (then (local.set $p (i32.sub (local.get $p) (i32.const 1))) (br $scale)))))
    ;; Half a double ulp of a, 2^(e − 53), scaled; at a power of two the next double down is half as far.
    (local.set $above (f64.mul (f64.reinterpret_i64 (i64.shl (i64.extend_i32_s (i32.add (local.get $e) (i32.const 970))) (i64.const 52)))
      (call $pow10 (local.get $p))))
    (local.set $below (select (f64.mul (local.get $above) (f64.const 0.5)) (local.get $above)
      (i64.eqz (i64.and (local.get $bits) (i64.const 0xfffffffffffff)))))
    ;; hi is an even integer (≥ 2^53): hi = top·1e8 + rest exactly.
    (local.set $topF (f64.floor (f64.mul (local.get $hi) (f64.const 1e-8)))) ;; corrected below when off by one
    (local.set $restF (f64.sub (local.get $hi) (f64.mul (local.get $topF) (f64.const 1e8))))
    (if (f64.lt (local.get $restF) (f64.const 0))
      (then (local.set $topF (f64.sub (local.get $topF) (f64.const 1))) (local.set $restF (f64.add (local.get $restF) (f64.const 1e8)))))
    (if (f64.ge (local.get $restF) (f64.const 1e8))
      (then (local.set $topF (f64.add (local.get $topF) (f64.const 1))) (local.set $restF (f64.sub (local.get $restF) (f64.const 1e8)))))
    (local.set $top (i32.trunc_f64_u (local.get $topF)))
    (local.set $rest (i32.trunc_f64_u (local.get $restF)))
    (local.set $res (call $commonCase (local.get $lo) (local.get $rest) (local.get $below) (local.get $above)))
    (if (local.get $res)
      (then (local.set $j (i32.sub (local.get $res) (i32.const 1))))
      (else
        ;; The largest j with a multiple of 10^j in the interval (one exists at j if one does at j + 1):
        ;; most such doubles need 16 or 17 digits, so the search starts at 16 (j = 1).
        (local.set $j (i32.const 1))
        (local.set $res (call $pickAt (i32.const 1) (local.get $lo) (local.get $rest) (local.get $top) (local.get $below) (local.get $above)))
        (if (i32.eq (local.get $res) (i32.const 2)) (then (return (i32.const -1))))
        (if (i32.eq (local.get $res) (i32.const 1))
          (then
            (block $longest
              (loop $level
                (br_if $longest (i32.ge_u (local.get $j) (i32.const 16)))
                (local.set $res (call $pickAt (i32.add (local.get $j) (i32.const 1)) (local.get $lo) (local.get $rest) (local.get $top) (local.get $below) (local.get $above)))
                (if (i32.eq (local.get $res) (i32.const 2)) (then (return (i32.const -1))))
                (br_if $longest (i32.eqz (local.get $res)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $level))))
          (else
            ;; 17 digits in an uneven interval (an even one commonCase has decided: it leaves the
            ;; search only a multiple of 10 or 100 in reach, a tie, or an uneven interval).
            (local.set $j (i32.const 0))
            (if (i32.ne (call $pickAt (i32.const 0) (local.get $lo) (local.get $rest) (local.get $top) (local.get $below) (local.get $above)) (i32.const 1))
              (then (return (i32.const -1))))))))
    ;; The digits of C = hi + chosen.
    (local.set $restF (f64.add (f64.convert_i32_u (local.get $rest)) (global.get $chosen)))
    (if (f64.lt (local.get $restF) (f64.const 0))
      (then (local.set $top (i32.sub (local.get $top) (i32.const 1))) (local.set $restF (f64.add (local.get $restF) (f64.const 1e8)))))
    (if (f64.ge (local.get $restF) (f64.const 1e8))
      (then (local.set $top (i32.add (local.get $top) (i32.const 1))) (local.set $restF (f64.sub (local.get $restF) (f64.const 1e8)))))
    (if (i32.or (i32.lt_u (local.get $top) (i32.const 100000000)) (i32.ge_u (local.get $top) (i32.const 1000000000)))
      (then (return (i32.const -1))))
    (local.set $rest (i32.trunc_f64_u (local.get $restF)))
    (local.set $r4 (i32.div_u (local.get $rest) (i32.const 10000)))
    (call $four (i32.const 777) (local.get $r4))
    (call $four (i32.const 781) (i32.sub (local.get $rest) (i32.mul (local.get $r4) (i32.const 10000))))
    (local.set $t5 (i32.div_u (local.get $top) (i32.const 10000)))
    (call $four (i32.const 773) (i32.sub (local.get $top) (i32.mul (local.get $t5) (i32.const 10000))))
    (local.set $t1 (i32.div_u (local.get $t5) (i32.const 10000)))
    (i32.store8 (i32.const 768) (i32.add (i32.const 48) (local.get $t1)))
    (call $four (i32.const 769) (i32.sub (local.get $t5) (i32.mul (local.get $t1) (i32.const 10000))))
    (local.set $count (i32.sub (i32.const 17) (local.get $j))) ;; significant digits
    (local.set $whole (i32.sub (i32.const 17) (local.get $p))) ;; digits before the decimal point
    ;; An integer: its digits, then zeros up to the point (whole ≤ 16).
    (if (i32.ge_s (local.get $whole) (local.get $count))
      (then
        (call $copy17 (local.get $at) (i32.const 768))
        (call $zeros (i32.add (local.get $at) (local.get $count)))
        (return (i32.add (local.get $at) (local.get $whole)))))
    ;; A point among the digits: all of them, then those after the point again one further on.
    (if (i32.gt_s (local.get $whole) (i32.const 0))
      (then
        (call $copy17 (local.get $at) (i32.const 768))
        (call $copy17 (i32.add (i32.add (local.get $at) (local.get $whole)) (i32.const 1)) (i32.add (i32.const 768) (local.get $whole)))
        (i32.store8 (i32.add (local.get $at) (local.get $whole)) (i32.const 46))
        (return (i32.add (i32.add (local.get $at) (local.get $count)) (i32.const 1)))))
    ;; Below 1: "0.", zeros (five at most: |x| ≥ 1e-6), the digits.
    (i32.store16 (local.get $at) (i32.const 0x2e30)) ;; "0."
    (call $zeros (i32.add (local.get $at) (i32.const 2)))
    (call $copy17 (i32.sub (i32.add (local.get $at) (i32.const 2)) (local.get $whole)) (i32.const 768))
    (i32.add (i32.sub (i32.add (local.get $at) (i32.const 2)) (local.get $whole)) (local.get $count)))
)
