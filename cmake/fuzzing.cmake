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
  # Line tables only: stack traces still name file and line. Asserts stay on (configure as Debug:
  # no NDEBUG). -O1 (the default) fuzzes about twice as fast as -O0; `make test` builds at -O0
  # (FUZZ_OPT), which compiles a third faster, as its fuzzers run for seconds, not hours.
  set(PORTICO_FUZZ_OPT "-O1" CACHE STRING "Optimisation level of the fuzz build (-O0 or -O1)")
  add_compile_options(${PORTICO_FUZZ_OPT} -gline-tables-only -fsanitize=fuzzer-no-link,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
