# portico_module(NAME DEPS ...): one folder = one static library portico_<NAME>.
# Public headers live in include/portico/<NAME>/, sources and private headers in src/<NAME>/.
function(portico_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    # A module whose sources are not written yet still exposes its headers.
    add_library(portico_${name} INTERFACE)
    target_include_directories(portico_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(portico_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(portico_${name} STATIC ${sources})
  target_include_directories(portico_${name}
    PUBLIC ${PROJECT_SOURCE_DIR}/include
    PRIVATE ${PROJECT_SOURCE_DIR}/src/${name})
  target_link_libraries(portico_${name} PUBLIC ${ARG_DEPS} PRIVATE portico_warnings ${ARG_PRIVATE_DEPS})
endfunction()
