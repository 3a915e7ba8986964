/** A service whose `probe(k)` calls forge.clock_now k times and answers how many were refused. */
export const PROBE = new TextEncoder().encode(`(module
  (import "forge" "clock_now" (func $now (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "probe") (param $k i32) (result i32) (local $refused i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $k)))
      (if (i32.ne (call $now (i32.const 8)) (i32.const 0))
        (then (local.set $refused (i32.add (local.get $refused) (i32.const 1)))))
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (br $again)))
    (local.get $refused)))`);
