# cmake -DINCLUDE_DIR=<duet/include> -P header_lint.cmake
#
# What the ODR link test cannot see: an anonymous namespace or a namespace-scope
# `static` in a header gives every translation unit its own copy, which links
# fine but breaks the one-definition rule as soon as an inline function uses
# it. duet's headers use neither (docs/design.md); this fails naming each line.
# Namespace-scope declarations start at column 0 in our layout, which is what
# tells them from static class members, which are indented.
file(GLOB_RECURSE headers ${INCLUDE_DIR}/duet/*.hpp)
set(problems "")
foreach(header IN LISTS headers)
  file(STRINGS ${header} lines)
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(line MATCHES "^[ \t]*namespace[ \t]*{" OR line MATCHES "^static[ \t]"
       OR (line MATCHES "^(const|constexpr)[ \t][^(]*=" AND NOT line MATCHES "operator"))
      string(APPEND problems "${header}:${number}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "anonymous namespace, namespace-scope static, or a non-inline const "
                      "variable in a header (make it inline, or move it into a class):\n${problems}")
endif()
list(LENGTH headers count)
message(STATUS "${count} headers: no anonymous namespaces or namespace-scope statics")
