# PORTICO_FUZZ: libFuzzer targets (tests/fuzz/) on an ASan + UBSan build. Clang only.
# Every library and the unit tests are compiled with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and the sanitizers, so one build directory serves both the fuzzers
# (`make fuzz`) and the sanitized unit tests (`make sanitize-unit`). UBSan findings abort
# (-fno-sanitize-recover) so a fuzzer reports them as crashes.
option(PORTICO_FUZZ "Build the libFuzzer targets (clang; ASan + UBSan)" OFF)

if(PORTICO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PORTICO_FUZZ needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++-14)")
  endif()
  if(PORTICO_SANITIZE)
    message(FATAL_ERROR "PORTICO_FUZZ already builds with ASan + UBSan: leave PORTICO_SANITIZE off")
  endif()
  # -O1 and line tables only: fast enough to fuzz, quicker to compile than -O2 -g, and stack
  # traces still name file and line. Asserts stay on (configure as Debug: no NDEBUG).
  add_compile_options(-O1 -gline-tables-only -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
