# portico_module(NAME DEPS ...): one folder = one static library portico_<NAME>.
# Public headers live in include/portico/<NAME>/, sources and private headers in src/<NAME>/.
#
# Each module's include root (<build>/include_roots/<NAME>/portico/<NAME>, a symbolic link to
# include/portico/<NAME>) holds its own headers only; its dependencies' roots come with their
# PUBLIC links. A module therefore sees the headers of the modules below it and of no other: an
# include of a module it does not reach through DEPS fails to compile. An include of a module
# reached only through another one still compiles; the structure.layers test rejects it
# (docs/style.md, "Layers").
function(portico_include_root name out)
  set(root ${PROJECT_BINARY_DIR}/include_roots/${name})
  set(headers ${PROJECT_SOURCE_DIR}/include/portico/${name})
  file(MAKE_DIRECTORY ${root}/portico)
  if(IS_DIRECTORY ${headers} AND NOT IS_SYMLINK ${root}/portico/${name})
    file(CREATE_LINK ${headers} ${root}/portico/${name} SYMBOLIC)
  endif()
  set(${out} ${root} PARENT_SCOPE)
endfunction()

function(portico_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  portico_include_root(${name} include_root)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    # A module whose sources are not written yet still exposes its headers.
    add_library(portico_${name} INTERFACE)
    target_include_directories(portico_${name} INTERFACE ${include_root})
    target_link_libraries(portico_${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(portico_${name} STATIC ${sources})
  target_include_directories(portico_${name}
    PUBLIC ${include_root}
    PRIVATE ${PROJECT_SOURCE_DIR}/src/${name})
  target_link_libraries(portico_${name} PUBLIC ${ARG_DEPS} PRIVATE portico_warnings ${ARG_PRIVATE_DEPS})
endfunction()
