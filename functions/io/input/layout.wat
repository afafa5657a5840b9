;; The structure pass of quick-scan.ts (layoutOf) in WebAssembly, over the bytes of an ASCII text: the same checks, the
;; same answers, in about a third of the JavaScript loop's time, since a string's bytes are passed over sixteen at a
;; time (SIMD); and the search for the pre-filter's needles (`search`, at the end), which finds what the regular
;; expression of RecordSearch.anywhere finds. layout-wasm.ts copies the text (or its bytes) in and reads the answers
;; out; `npm run build:wasm` assembles this file into layout-wasm-bytes.ts, and test/unit/layout-wasm.test.ts checks
;; that the passes agree with the JavaScript on every input it makes.
;;
;; Memory, laid out by the caller: the key names below at 0; the stack of open brackets at `stack` (maxDepth + 1
;; bytes); the answer at `out`, five columns of `cap` 32-bit integers (where each record starts, where it ends, where
;; its top-level eventName value starts and where that value's closing quote is, or -1 and -1, and its flags); the
;; text at `text`, `n` bytes, and 32 bytes after it for the sentinel and the last 16-byte loads.
(module
  (memory (export "memory") 1)
  ;; The top-level keys the layout notes: "eventName" at 0, "eventSource" at 9, "detail-type" at 20, whose first six
  ;; bytes are "detail".
  (data (i32.const 0) "eventNameeventSourcedetail-type")

  ;; Whether the `length` bytes at `a` equal those at `b`.
  (func $same (param $a i32) (param $b i32) (param $length i32) (result i32)
    (loop $next
      (if (i32.eqz (local.get $length)) (then (return (i32.const 1))))
      (if (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))) (then (return (i32.const 0))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (local.set $length (i32.sub (local.get $length) (i32.const 1)))
      (br $next))
    (unreachable))

  ;; The field a top-level key of `length` bytes at `from` names: 1 eventName, 2 eventSource, 3 detail or
  ;; detail-type (an EventBridge event, whose own eventName is not the one matched), 0 any other.
  (func $keyField (param $from i32) (param $length i32) (result i32)
    (if (i32.eq (local.get $length) (i32.const 9))
      (then (return (call $same (local.get $from) (i32.const 0) (i32.const 9)))))
    (if (i32.eq (local.get $length) (i32.const 11))
      (then
        (if (call $same (local.get $from) (i32.const 9) (i32.const 11)) (then (return (i32.const 2))))
        (return (i32.mul (call $same (local.get $from) (i32.const 20) (i32.const 11)) (i32.const 3)))))
    (if (i32.eq (local.get $length) (i32.const 6))
      (then (return (i32.mul (call $same (local.get $from) (i32.const 20) (i32.const 6)) (i32.const 3)))))
    (i32.const 0))

  ;; Whether `\` then `code` is an escape JSON.stringify writes: `"`, `\`, b, f, n, r, t.
  (func $stringifyEscape (param $code i32) (result i32)
    (i32.or
      (i32.or
        (i32.or (i32.eq (local.get $code) (i32.const 34)) (i32.eq (local.get $code) (i32.const 92)))
        (i32.or (i32.eq (local.get $code) (i32.const 98)) (i32.eq (local.get $code) (i32.const 102))))
      (i32.or
        (i32.or (i32.eq (local.get $code) (i32.const 110)) (i32.eq (local.get $code) (i32.const 114)))
        (i32.eq (local.get $code) (i32.const 116)))))

  ;; Whether a value may start after `before`: after `:` in an object (`top` is `{`), after `[` or `,` in an array.
  (func $valueFits (param $before i32) (param $top i32) (result i32)
    (if (result i32) (i32.eq (local.get $top) (i32.const 123))
      (then (i32.eq (local.get $before) (i32.const 58)))
      (else (i32.or (i32.eq (local.get $before) (i32.const 91)) (i32.eq (local.get $before) (i32.const 44))))))

  ;; The records of the text at `text` (`n` bytes, starting `{"Records":[`), as quick-scan.ts layoutOf reads them:
  ;; their number, -1 where layoutOf gives undefined (not the fast path: the scanner decides), or -2 when there are
  ;; more than `cap` (the caller then runs layoutOf itself).
  (func (export "layout")
    (param $text i32) (param $n i32) (param $stack i32) (param $maxDepth i32) (param $maxString i32)
    (param $maxRecords i32) (param $out i32) (param $cap i32) (result i32)
    (local $end i32) (local $at i32) (local $count i32) (local $start i32) (local $depth i32) (local $top i32)
    (local $field i32) (local $from i32) (local $to i32) (local $flag i32) (local $code i32) (local $open i32)
    (local $escaped i32) (local $after i32) (local $before i32) (local $seen i32) (local $mask i32)
    (local $chunk v128)
    (local.set $end (i32.add (local.get $text) (local.get $n)))
    ;; A quote after the text ends every string search; a string that ends there is cut short.
    (i32.store8 (local.get $end) (i32.const 34))
    (v128.store (i32.add (local.get $end) (i32.const 1)) (v128.const i64x2 0 0))
    (local.set $at (i32.add (local.get $text) (i32.const 12)))
    (loop $record
      (if (i32.or
            (i32.ne (i32.load8_u (local.get $at)) (i32.const 123))
            (i32.ge_u (local.get $count) (local.get $maxRecords)))
        (then (return (i32.const -1))))
      (if (i32.ge_u (local.get $count) (local.get $cap)) (then (return (i32.const -2))))
      (local.set $start (local.get $at))
      (local.set $depth (i32.const 1))
      (i32.store8 (i32.add (local.get $stack) (i32.const 1)) (i32.const 123))
      (local.set $field (i32.const 0))
      (local.set $from (i32.const -1))
      (local.set $to (i32.const -1))
      (local.set $flag (i32.const 0))
      (local.set $at (i32.add (local.get $at) (i32.const 1)))
      (block $closed
        (loop $token
          (br_if $closed (i32.eqz (local.get $depth)))
          (if (i32.ge_u (local.get $at) (local.get $end)) (then (return (i32.const -1))))
          (local.set $code (i32.load8_u (local.get $at)))
          (local.set $top (i32.load8_u (i32.add (local.get $stack) (local.get $depth))))
          (if (i32.eq (local.get $code) (i32.const 34))
            (then
              ;; A string: to its closing quote, sixteen bytes at a time until a quote or a backslash.
              (local.set $open (local.get $at))
              (local.set $escaped (i32.const 0))
              (local.set $at (i32.add (local.get $at) (i32.const 1)))
              (block $quote
                (loop $bytes
                  (local.set $chunk (v128.load (local.get $at)))
                  (local.set $mask
                    (i8x16.bitmask
                      (v128.or
                        (i8x16.eq (local.get $chunk) (i8x16.splat (i32.const 34)))
                        (i8x16.eq (local.get $chunk) (i8x16.splat (i32.const 92))))))
                  (if (i32.eqz (local.get $mask))
                    (then
                      (local.set $at (i32.add (local.get $at) (i32.const 16)))
                      (br $bytes)))
                  (local.set $at (i32.add (local.get $at) (i32.ctz (local.get $mask))))
                  (br_if $quote (i32.eq (i32.load8_u (local.get $at)) (i32.const 34)))
                  ;; A backslash: its escape checked, its character passed over.
                  (local.set $escaped (i32.const 1))
                  (if (i32.ge_u (i32.add (local.get $at) (i32.const 1)) (local.get $end)) (then (return (i32.const -1))))
                  (if (i32.eqz (call $stringifyEscape (i32.load8_u (i32.add (local.get $at) (i32.const 1)))))
                    (then (local.set $flag (i32.or (local.get $flag) (i32.const 2)))))
                  (local.set $at (i32.add (local.get $at) (i32.const 2)))
                  (br $bytes)))
              (if (i32.ge_u (local.get $at) (local.get $end)) (then (return (i32.const -1))))
              (if (i32.gt_u (i32.sub (i32.sub (local.get $at) (local.get $open)) (i32.const 1)) (local.get $maxString))
                (then (return (i32.const -1))))
              (local.set $after (i32.load8_u (i32.add (local.get $at) (i32.const 1))))
              (local.set $before (i32.load8_u (i32.sub (local.get $open) (i32.const 1))))
              (if (i32.eq (local.get $after) (i32.const 58))
                (then
                  ;; A key: in an object, after its `{` or a `,`.
                  (if (i32.or
                        (i32.and (i32.ne (local.get $before) (i32.const 123)) (i32.ne (local.get $before) (i32.const 44)))
                        (i32.ne (local.get $top) (i32.const 123)))
                    (then (return (i32.const -1))))
                  (if (i32.eq (local.get $depth) (i32.const 1))
                    (then
                      (if (local.get $escaped) (then (local.set $flag (i32.or (local.get $flag) (i32.const 2)))))
                      (local.set $field
                        (call $keyField
                          (i32.add (local.get $open) (i32.const 1))
                          (i32.sub (i32.sub (local.get $at) (local.get $open)) (i32.const 1))))
                      (if (i32.eq (local.get $field) (i32.const 3))
                        (then (local.set $flag (i32.or (local.get $flag) (i32.const 2))))
                        (else
                          (if (local.get $field)
                            (then
                              ;; SEEN_NAME or SEEN_SOURCE; a second one makes the record one to parse.
                              (local.set $seen
                                (select (i32.const 8) (i32.const 16) (i32.eq (local.get $field) (i32.const 1))))
                              (if (i32.and (local.get $flag) (local.get $seen))
                                (then (local.set $flag (i32.or (local.get $flag) (i32.const 2)))))
                              (local.set $flag (i32.or (local.get $flag) (local.get $seen)))))))))
                  (local.set $at (i32.add (local.get $at) (i32.const 1))))
                (else
                  (if (i32.or
                        (i32.eq (local.get $after) (i32.const 44))
                        (i32.or (i32.eq (local.get $after) (i32.const 125)) (i32.eq (local.get $after) (i32.const 93))))
                    (then
                      ;; A value.
                      (if (i32.eqz (call $valueFits (local.get $before) (local.get $top))) (then (return (i32.const -1))))
                      (if (i32.eq (local.get $depth) (i32.const 1))
                        (then
                          (if (i32.eq (local.get $field) (i32.const 1))
                            (then
                              (if (local.get $escaped) (then (local.set $flag (i32.or (local.get $flag) (i32.const 2)))))
                              (local.set $from (i32.sub (i32.add (local.get $open) (i32.const 1)) (local.get $text)))
                              (local.set $to (i32.sub (local.get $at) (local.get $text))))
                            (else
                              (if (i32.eq (local.get $field) (i32.const 2))
                                (then (local.set $flag (i32.or (local.get $flag) (i32.const 1)))))))
                          (local.set $field (i32.const 0))))
                      (if (i32.eq (local.get $after) (i32.const 44))
                        (then (local.set $at (i32.add (local.get $at) (i32.const 1))))))
                    (else (return (i32.const -1)))))))
            (else
              (if (i32.or (i32.eq (local.get $code) (i32.const 123)) (i32.eq (local.get $code) (i32.const 91)))
                (then
                  ;; An object or array as a member's value or an element.
                  (if (i32.eqz
                        (call $valueFits (i32.load8_u (i32.sub (local.get $at) (i32.const 1))) (local.get $top)))
                    (then (return (i32.const -1))))
                  (if (i32.eq (local.get $depth) (i32.const 1)) (then (local.set $field (i32.const 0))))
                  (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
                  (if (i32.gt_u (local.get $depth) (local.get $maxDepth)) (then (return (i32.const -1))))
                  (i32.store8 (i32.add (local.get $stack) (local.get $depth)) (local.get $code)))
                (else
                  (if (i32.or (i32.eq (local.get $code) (i32.const 125)) (i32.eq (local.get $code) (i32.const 93)))
                    (then
                      ;; A bracket closes only its own kind: `}` and `]` are their openers plus two.
                      (if (i32.ne (local.get $top) (i32.sub (local.get $code) (i32.const 2))) (then (return (i32.const -1))))
                      (local.set $depth (i32.sub (local.get $depth) (i32.const 1))))
                    (else
                      (if (i32.eq (local.get $code) (i32.const 44))
                        (then
                          ;; A comma after a value, never after `[`, `{`, `:` or another `,`.
                          (local.set $before (i32.load8_u (i32.sub (local.get $at) (i32.const 1))))
                          (if (i32.or
                                (i32.or (i32.eq (local.get $before) (i32.const 91)) (i32.eq (local.get $before) (i32.const 123)))
                                (i32.or (i32.eq (local.get $before) (i32.const 58)) (i32.eq (local.get $before) (i32.const 44))))
                            (then (return (i32.const -1))))))))))))
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $token)))
      ;; The record: its columns.
      (i32.store (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2)))
        (i32.sub (local.get $start) (local.get $text)))
      (i32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $cap) (local.get $count)) (i32.const 2)))
        (i32.sub (local.get $at) (local.get $text)))
      (i32.store
        (i32.add (local.get $out) (i32.shl (i32.add (i32.shl (local.get $cap) (i32.const 1)) (local.get $count)) (i32.const 2)))
        (local.get $from))
      (i32.store
        (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $cap) (i32.const 3)) (local.get $count)) (i32.const 2)))
        (local.get $to))
      (i32.store
        (i32.add (local.get $out) (i32.shl (i32.add (i32.shl (local.get $cap) (i32.const 2)) (local.get $count)) (i32.const 2)))
        (local.get $flag))
      (local.set $count (i32.add (local.get $count) (i32.const 1)))
      ;; Between records exactly `,`; after the last, `]}` and only whitespace.
      (local.set $code (i32.load8_u (local.get $at)))
      (if (i32.eq (local.get $code) (i32.const 44))
        (then
          (local.set $at (i32.add (local.get $at) (i32.const 1)))
          (br $record)))
      (if (i32.or
            (i32.ne (local.get $code) (i32.const 93))
            (i32.ne (i32.load8_u (i32.add (local.get $at) (i32.const 1))) (i32.const 125)))
        (then (return (i32.const -1))))
      (local.set $at (i32.add (local.get $at) (i32.const 2)))
      (loop $space
        (if (i32.ge_u (local.get $at) (local.get $end)) (then (return (local.get $count))))
        (local.set $code (i32.load8_u (local.get $at)))
        (if (i32.eqz
              (i32.or
                (i32.or (i32.eq (local.get $code) (i32.const 32)) (i32.eq (local.get $code) (i32.const 10)))
                (i32.or (i32.eq (local.get $code) (i32.const 13)) (i32.eq (local.get $code) (i32.const 9)))))
          (then (return (i32.const -1))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $space)))
    (unreachable))

  ;; Whether the needle at `needle` (its length, 64 bytes to match, 64 bytes of case folds: 0x20 where a letter
  ;; matches either case, else 0) is at `at`, all of it before `end`.
  (func $needleAt (param $at i32) (param $needle i32) (param $end i32) (result i32)
    (local $length i32) (local $k i32)
    (local.set $length (i32.load (local.get $needle)))
    (if (i32.gt_u (i32.add (local.get $at) (local.get $length)) (local.get $end)) (then (return (i32.const 0))))
    (loop $byte
      (if (i32.eq (local.get $k) (local.get $length)) (then (return (i32.const 1))))
      (if (i32.ne
            (i32.or
              (i32.load8_u (i32.add (local.get $at) (local.get $k)))
              (i32.load8_u (i32.add (i32.add (local.get $needle) (i32.const 68)) (local.get $k))))
            (i32.load8_u (i32.add (i32.add (local.get $needle) (i32.const 4)) (local.get $k))))
        (then (return (i32.const 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $byte))
    (unreachable))

  ;; The places, from `from` on, where one of the `count` needles at `needles` (132 bytes each, as $needleAt reads
  ;; them) is found in the text at `text` (`n` bytes), as a JavaScript regular expression of the needles as
  ;; alternatives finds them with exec: the leftmost place first, there the first needle in order, then on from its
  ;; end. Candidates are found sixteen at a time by their first two bytes: at `filters`, 4 bytes the first may be and 8
  ;; the second may be (repeated to fill; every needle is at least two bytes long). Writes each place and its needle's
  ;; index at `out` (two columns of `cap`), and returns how many, or -2 when there are more than `cap`.
  (func (export "search")
    (param $text i32) (param $n i32) (param $from i32) (param $needles i32) (param $count i32) (param $filters i32)
    (param $out i32) (param $cap i32) (result i32)
    (local $end i32) (local $at i32) (local $place i32) (local $mask i32) (local $resume i32) (local $found i32)
    (local $index i32) (local $needle i32) (local $chunk v128) (local $next v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $b4 v128) (local $b5 v128) (local $b6 v128) (local $b7 v128)
    (local.set $end (i32.add (local.get $text) (local.get $n)))
    (local.set $a0 (v128.load8_splat (local.get $filters)))
    (local.set $a1 (v128.load8_splat offset=1 (local.get $filters)))
    (local.set $a2 (v128.load8_splat offset=2 (local.get $filters)))
    (local.set $a3 (v128.load8_splat offset=3 (local.get $filters)))
    (local.set $b0 (v128.load8_splat offset=4 (local.get $filters)))
    (local.set $b1 (v128.load8_splat offset=5 (local.get $filters)))
    (local.set $b2 (v128.load8_splat offset=6 (local.get $filters)))
    (local.set $b3 (v128.load8_splat offset=7 (local.get $filters)))
    (local.set $b4 (v128.load8_splat offset=8 (local.get $filters)))
    (local.set $b5 (v128.load8_splat offset=9 (local.get $filters)))
    (local.set $b6 (v128.load8_splat offset=10 (local.get $filters)))
    (local.set $b7 (v128.load8_splat offset=11 (local.get $filters)))
    (local.set $at (i32.add (local.get $text) (local.get $from)))
    (local.set $resume (local.get $at))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $chunk (v128.load (local.get $at)))
        (local.set $next (v128.load offset=1 (local.get $at)))
        (local.set $mask
          (i8x16.bitmask
            (v128.and
              (v128.or
                (v128.or (i8x16.eq (local.get $chunk) (local.get $a0)) (i8x16.eq (local.get $chunk) (local.get $a1)))
                (v128.or (i8x16.eq (local.get $chunk) (local.get $a2)) (i8x16.eq (local.get $chunk) (local.get $a3))))
              (v128.or
                (v128.or
                  (v128.or (i8x16.eq (local.get $next) (local.get $b0)) (i8x16.eq (local.get $next) (local.get $b1)))
                  (v128.or (i8x16.eq (local.get $next) (local.get $b2)) (i8x16.eq (local.get $next) (local.get $b3))))
                (v128.or
                  (v128.or (i8x16.eq (local.get $next) (local.get $b4)) (i8x16.eq (local.get $next) (local.get $b5)))
                  (v128.or (i8x16.eq (local.get $next) (local.get $b6)) (i8x16.eq (local.get $next) (local.get $b7))))))))
        (block $candidates
          (loop $candidate
            (br_if $candidates (i32.eqz (local.get $mask)))
            (local.set $place (i32.add (local.get $at) (i32.ctz (local.get $mask))))
            (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            (br_if $done (i32.ge_u (local.get $place) (local.get $end)))
            ;; Inside the last needle found: the search goes on from its end.
            (br_if $candidate (i32.lt_u (local.get $place) (local.get $resume)))
            (local.set $index (i32.const 0))
            (block $tried
              (loop $needles
                (br_if $tried (i32.ge_u (local.get $index) (local.get $count)))
                (local.set $needle (i32.add (local.get $needles) (i32.mul (local.get $index) (i32.const 132))))
                (if (call $needleAt (local.get $place) (local.get $needle) (local.get $end))
                  (then
                    (if (i32.ge_u (local.get $found) (local.get $cap)) (then (return (i32.const -2))))
                    (i32.store (i32.add (local.get $out) (i32.shl (local.get $found) (i32.const 2)))
                      (i32.sub (local.get $place) (local.get $text)))
                    (i32.store
                      (i32.add (local.get $out) (i32.shl (i32.add (local.get $cap) (local.get $found)) (i32.const 2)))
                      (local.get $index))
                    (local.set $found (i32.add (local.get $found) (i32.const 1)))
                    (local.set $resume (i32.add (local.get $place) (i32.load (local.get $needle))))
                    (br $tried)))
                (local.set $index (i32.add (local.get $index) (i32.const 1)))
                (br $needles)))
            (br $candidate)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $chunks)))
    (local.get $found))
)
