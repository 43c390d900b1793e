# Two interface targets every project target links PRIVATE:
#   lsr_options  - language level, sanitizers, hardening
#   lsr_warnings - the warning set (errors unless LSR_WERROR=OFF)
add_library(lsr_options INTERFACE)
add_library(lsr_warnings INTERFACE)

target_compile_features(lsr_options INTERFACE cxx_std_20)
target_compile_definitions(lsr_options INTERFACE
  $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>
  _GLIBCXX_ASSERTIONS)

if(LSR_SANITIZE)
  target_compile_options(lsr_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(lsr_options INTERFACE -fsanitize=address,undefined)
  # RapidJSON 1.1 offsets null pointers in its empty stacks (cmake/ubsan.ignorelist).
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(lsr_options INTERFACE
      -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/cmake/ubsan.ignorelist)
  else()
    target_compile_options(lsr_options INTERFACE -fno-sanitize=pointer-overflow)
  endif()
endif()

if(LSR_TSAN)
  # Data races between the io threads, the workers and the delivery strands.
  target_compile_options(lsr_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(lsr_options INTERFACE -fsanitize=thread)
endif()

target_compile_options(lsr_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
  -Wmisleading-indentation)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(lsr_warnings INTERFACE -Wduplicated-cond -Wlogical-op)
endif()
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  # RapidJSON 1.1's iterators declare operator!= in a way C++20 finds ambiguous; the
  # diagnostic is about the library's header, not about our comparisons.
  target_compile_options(lsr_warnings INTERFACE -Wno-ambiguous-reversed-operator)
endif()
if(LSR_WERROR)
  target_compile_options(lsr_warnings INTERFACE -Werror)
endif()

# Helper: a project library made of every .cpp in its folder.
function(lsr_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE lsr_options lsr_warnings)
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()

# Helper: the libraries that use Asio and Beast share one precompiled header.
function(lsr_use_asio_pch name)
  target_precompile_headers(${name} PRIVATE
    <boost/asio.hpp> <boost/beast/core.hpp> <boost/beast/http.hpp>)
endfunction()
