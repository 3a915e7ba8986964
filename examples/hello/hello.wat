;; hello.wat: the smallest ForgeOne guest.
;; It logs a greeting through forge.log, asks the host clock through forge.clock_now, and logs
;; either the Unix time in seconds or that the clock was refused. Every call goes through the
;; gate: run it with `--allow forge.log` only and the clock call is denied (errno 1).
(module
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (import "forge" "clock_now" (func $clock_now (param i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 0) "Hello from a ForgeOne guest!")          ;; 28 bytes
  (data (i32.const 32) "the host clock was refused")           ;; 26 bytes
  (data (i32.const 64) "unix time: ")                          ;; 11 bytes, digits follow at 75

  ;; Writes the decimal digits of $n at $at; returns how many.
  (func $utoa (param $n i64) (param $at i32) (result i32)
    (local $len i32) (local $i i32) (local $tmp i64)
    ;; count digits
    (local.set $tmp (local.get $n))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $tmp (i64.div_u (local.get $tmp) (i64.const 10)))
      (br_if $count (i64.ne (local.get $tmp) (i64.const 0))))
    ;; write them from the right
    (local.set $i (local.get $len))
    (loop $write
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8
        (i32.add (local.get $at) (local.get $i))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $write (i32.gt_u (local.get $i) (i32.const 0))))
    (local.get $len))

  (func (export "_start")
    (local $digits i32)
    (drop (call $log (i32.const 0) (i32.const 28)))
    ;; forge.clock_now writes u64 nanoseconds at offset 256 and returns 0, or an errno.
    (if (i32.eqz (call $clock_now (i32.const 256)))
      (then
        (local.set $digits
          (call $utoa (i64.div_u (i64.load (i32.const 256)) (i64.const 1000000000)) (i32.const 75)))
        (drop (call $log (i32.const 64) (i32.add (i32.const 11) (local.get $digits)))))
      (else
        (drop (call $log (i32.const 32) (i32.const 26)))))))
