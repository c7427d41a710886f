# Every dependency comes from a Debian package, found with pkg-config or find_package.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

pkg_check_modules(OSIP2 REQUIRED IMPORTED_TARGET libosip2)
# io_uring media path; Portico still runs (epoll path) on kernels where io_uring is unavailable.
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)
# SRTP (RFC 3711) for the relay's transform slot; Debian's build uses OpenSSL, so AES-GCM works.
pkg_check_modules(SRTP2 REQUIRED IMPORTED_TARGET libsrtp2)

# Standalone ASIO is header-only and ships no .pc file.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
add_library(portico_asio INTERFACE)
target_include_directories(portico_asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
# ASIO_HAS_STD_ALIGNED_ALLOC: asio decides it from a libstdc++ macro that is defined only if a
# standard header came before asio's, so translation units disagreed on how asio allocates and
# frees its handler memory (aligned_alloc/free or new/delete; ASan: alloc-dealloc-mismatch).
target_compile_definitions(portico_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
  ASIO_HAS_STD_ALIGNED_ALLOC=1)
target_link_libraries(portico_asio INTERFACE Threads::Threads)

if(PORTICO_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
