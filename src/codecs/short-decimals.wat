;; short-decimals.wat — the hot loop of number-text.ts's float32 writer: FP32 values that are
;; decimals of at most 3 fraction digits below 8192 (what clients send: pixels scaled to 0.123,
;; features like 5.1) written as that decimal, each followed by a comma, two table words per
;; value. It stops at the first value that is not such a decimal and leaves it, and the rest,
;; to the caller (the JavaScript writer's general path).
;;
;; The same rule as number-text.ts's writeFloat32s, to the bit: v = |f|; n = floor(v·1000 + 0.5)
;; (Math.round: v·1000 is exact in a double, so adding 0.5 is too); the decimal n/1000 is taken
;; when the double n/1000 rounds to f's magnitude as a float32 (Math.fround(n / 1000) === v).
;;
;; Memory, filled by the caller from number-text.ts's tables on a fresh instance:
;;   [0, 32768)       wholeWord[8192]: the digits of each integer part, one little-endian word
;;   [32768, 40960)   wholeLength[8192]
;;   [40960, 44960)   fractionWord[1000]: ".05" for 50, trailing zeros dropped, nothing for 0
;;   [44960, 45960)   fractionLength[1000]
;;   from 49152       the caller's: the float32 values and the text.
(module
  (memory (export "memory") 1)
  (global $end (mut i32) (i32.const 0))

  ;; textEnd gives where the last shorts call's text ended.
  (func (export "textEnd") (result i32) (global.get $end))

  ;; shorts writes the values at src[0..n) from `at` while each is a short decimal, and gives how
  ;; many it wrote; textEnd() is then the end of their text. A word store writes up to 3 bytes
  ;; past a value's text, which the next store (or the caller) overwrites.
  (func (export "shorts") (param $src i32) (param $n i32) (param $at i32) (result i32)
    (local $i i32) (local $f f32) (local $abs f32) (local $k i32) (local $whole i32) (local $frac i32) (local $p i32)
    (local.set $p (local.get $at))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $f (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $abs (f32.abs (local.get $f)))
        ;; Below 8192 (NaN is not).
        (br_if $done (i32.eqz (f32.lt (local.get $abs) (f32.const 8192))))
        (local.set $k (i32.trunc_f64_u (f64.floor (f64.add
          (f64.mul (f64.promote_f32 (local.get $abs)) (f64.const 1000)) (f64.const 0.5)))))
        (br_if $done (f32.ne (f32.demote_f64 (f64.div (f64.convert_i32_u (local.get $k)) (f64.const 1000))) (local.get $abs)))
        ;; A sign for a negative value; −0 is written 0, as the JavaScript writer does.
        (if (f32.lt (local.get $f) (f32.const 0))
          (then
            (i32.store8 (local.get $p) (i32.const 45))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (local.set $whole (i32.div_u (local.get $k) (i32.const 1000)))
        (local.set $frac (i32.sub (local.get $k) (i32.mul (local.get $whole) (i32.const 1000))))
        (i32.store (local.get $p) (i32.load (i32.shl (local.get $whole) (i32.const 2))))
        (local.set $p (i32.add (local.get $p) (i32.load8_u (i32.add (i32.const 32768) (local.get $whole)))))
        (i32.store (local.get $p) (i32.load (i32.add (i32.const 40960) (i32.shl (local.get $frac) (i32.const 2)))))
        (local.set $p (i32.add (local.get $p) (i32.load8_u (i32.add (i32.const 44960) (local.get $frac)))))
        (i32.store8 (local.get $p) (i32.const 44))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (global.set $end (local.get $p))
    (local.get $i))
)
