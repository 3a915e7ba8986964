(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "forge" "log" (func $log (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "report.txt")
  (data (i32.const 16) "passwd")
  (data (i32.const 32) "opened /data/report.txt")
  (data (i32.const 64) "refused /etc/passwd")
  (func (export "_start") (local $i i32)
    (if (i32.eqz (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 10)
                   (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200)))
      (then (drop (call $log (i32.const 32) (i32.const 23)))))
    (loop $scan
      (if (call $open (i32.const 4) (i32.const 0) (i32.const 16) (i32.const 6)
            (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200))
        (then (drop (call $log (i32.const 64) (i32.const 19)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $scan (i32.lt_u (local.get $i) (i32.const 20))))))
