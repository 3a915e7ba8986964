;; An honest WASI program making 1,000,000 mixed calls (issue 14: the default syscall rate, and the
;; speed item (e)). Each of 200,000 rounds makes five calls: clock_time_get, path_open of
;; input.txt in the preopen (fd 3), fd_read of one byte from it, fd_close, and fd_write of one byte
;; to stdout (the benches send stdout to a null sink). Exit code 0 when every call succeeded, else
;; 1 + the index (0..4) of the first call that failed.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: the path; 16: the time; 24: the opened fd; 32: read iovec -> 48 (1 byte);
  ;; 40: write iovec -> 49 (1 byte); 56: bytes read / written.
  (data (i32.const 0) "input.txt")
  (data (i32.const 32) "\30\00\00\00\01\00\00\00")
  (data (i32.const 40) "\31\00\00\00\01\00\00\00")
  (data (i32.const 49) ".")
  (func $fail (param $step i32) (call $exit (i32.add (local.get $step) (i32.const 1))))
  (func (export "_start")
    (local $round i32)
    (local $fd i32)
    (loop $rounds
      (if (call $clock (i32.const 1) (i64.const 0) (i32.const 16)) (then (call $fail (i32.const 0))))
      ;; rights: fd_read (2); no oflags; the fd lands at 24.
      (if (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 9) (i32.const 0)
            (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 24))
        (then (call $fail (i32.const 1))))
      (local.set $fd (i32.load (i32.const 24)))
      (if (call $read (local.get $fd) (i32.const 32) (i32.const 1) (i32.const 56))
        (then (call $fail (i32.const 2))))
      (if (call $close (local.get $fd)) (then (call $fail (i32.const 3))))
      (if (call $write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 56))
        (then (call $fail (i32.const 4))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 200000))))))
