# cmake -DCOMPILER=<c++> -DINCLUDE_DIR=<duet/include> -DSOURCE=<case.cpp> -P run.cmake
#
# Succeeds only when compiling SOURCE fails AND the compiler's output matches the
# regex on the file's "// expect-error: <regex>" line. A case that fails for any
# other reason (a typo, a missing header) is reported, not counted as a pass.
foreach(var COMPILER INCLUDE_DIR SOURCE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS ${SOURCE} expect_lines REGEX "^// expect-error: " LIMIT_COUNT 1)
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE}: no '// expect-error: <regex>' line")
endif()
string(REGEX REPLACE "^// expect-error: " "" expected "${expect_lines}")
string(STRIP "${expected}" expected)

# LC_ALL=C: g++ then quotes names with plain ASCII quotes, so regexes can be ASCII.
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C
          ${COMPILER} -std=c++20 -I${INCLUDE_DIR} -fsyntax-only ${SOURCE}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE}: compiled, but was expected to fail with /${expected}/")
endif()
if(NOT output MATCHES "${expected}")
  message(FATAL_ERROR "${SOURCE}: failed to compile, but the output does not match /${expected}/:\n${output}")
endif()
message(STATUS "${SOURCE}: fails to compile as expected (/${expected}/)")
