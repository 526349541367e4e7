;; json-outline.wat — what json.ts must know of a JSON text before JSON.parse, in one pass over its
;; UTF-8 bytes: how deep its arrays and objects nest (outside strings), and whether a number in it
;; may read differently through the reviver: an integer part of 16+ digits (beyond 2^53, or at
;; 309+ digits past a double) or an exponent of 3+ digits (1e999). Strings are skipped, so their
;; contents never count; a text that is not valid JSON gets some answer, and JSON.parse refuses it.
;; Built by `npm run build:wasm` into json-outline.wasm, which is committed; a test checks that
;; the committed file is this text's build.

(module
  (memory (export "memory") 1)

  (func $isDigit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))

  ;; outline reads the $length bytes from 0, followed by 8 zero bytes, and gives the deepest nesting,
  ;; plus 2^30 when a number may need the reviver. An unterminated string ends the count
  ;; (JSON.parse refuses the text).
  (func (export "outline") (param $length i32) (result i32)
    (local $i i32) (local $c i32) (local $depth i32) (local $max i32) (local $unsafe i32)
    ;; Whether the last byte that is not a digit was a decimal point (its digits are a fraction).
    (local $afterPoint i32) (local $from i32) (local $j i32) (local $x i64)
    (block $done
      (loop $byte
        (br_if $done (i32.ge_u (local.get $i) (local.get $length)))
        (local.set $c (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (call $isDigit (local.get $c)) (then
          ;; A run of digits, to the first byte that is not one (the 0 after the text at the
          ;; latest), eight bytes at a time.
          (local.set $from (local.get $i))
          (loop $digits
            (local.set $x (i64.load (local.get $i)))
            (local.set $x (i64.or
              (i64.xor (i64.and (local.get $x) (i64.const 0xF0F0F0F0F0F0F0F0)) (i64.const 0x3030303030303030))
              ;; A byte of 0xFA+ carries into the next: only into bytes past the first non-digit.
              (i64.xor (i64.and (i64.add (local.get $x) (i64.const 0x0606060606060606)) (i64.const 0xF0F0F0F0F0F0F0F0)) (i64.const 0x3030303030303030))))
            (if (i64.eqz (local.get $x)) (then
              (local.set $i (i32.add (local.get $i) (i32.const 8)))
              (br $digits)))
            (local.set $i (i32.add (local.get $i) (i32.wrap_i64 (i64.shr_u (i64.ctz (local.get $x)) (i64.const 3))))))
          (if (i32.and (i32.eqz (local.get $afterPoint)) (i32.ge_u (i32.sub (local.get $i) (local.get $from)) (i32.const 15)))
            (then (local.set $unsafe (i32.const 1))))
          (br $byte)))
        (local.set $afterPoint (i32.eq (local.get $c) (i32.const 46)))
        (if (i32.eq (local.get $c) (i32.const 34)) (then
          ;; A string: on to the quote that is not escaped.
          (loop $string
            (br_if $done (i32.ge_u (local.get $i) (local.get $length)))
            (local.set $c (i32.load8_u (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (if (i32.eq (local.get $c) (i32.const 92)) (then
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $string)))
            (br_if $string (i32.ne (local.get $c) (i32.const 34))))
          (br $byte)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 91)) (i32.eq (local.get $c) (i32.const 123))) (then
          (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
          (if (i32.gt_s (local.get $depth) (local.get $max)) (then (local.set $max (local.get $depth))))
          (br $byte)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 93)) (i32.eq (local.get $c) (i32.const 125))) (then
          (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
          (br $byte)))
        (if (i32.or (i32.eq (local.get $c) (i32.const 101)) (i32.eq (local.get $c) (i32.const 69))) (then
          ;; e, E: an exponent of 3+ digits, "+" allowed before them ("-" makes it smaller, not infinite).
          (local.set $j (local.get $i))
          (if (i32.and (i32.lt_u (local.get $j) (local.get $length)) (i32.eq (i32.load8_u (local.get $j)) (i32.const 43)))
            (then (local.set $j (i32.add (local.get $j) (i32.const 1)))))
          (if (i32.and (i32.le_u (i32.add (local.get $j) (i32.const 3)) (local.get $length))
                (i32.and (call $isDigit (i32.load8_u (local.get $j)))
                  (i32.and (call $isDigit (i32.load8_u (i32.add (local.get $j) (i32.const 1))))
                           (call $isDigit (i32.load8_u (i32.add (local.get $j) (i32.const 2)))))))
            (then (local.set $unsafe (i32.const 1))))))
        (br $byte)))
    (i32.or (local.get $max) (i32.shl (local.get $unsafe) (i32.const 30))))
)
