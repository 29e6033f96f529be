# SPDX-License-Identifier: Apache-2.0
# The API reference: `cmake --build <dir> --target docs` runs Doxygen over the public
# headers (include/cohort/ and algorithm/; detail/ is machinery and excluded) with warnings as
# errors, and writes HTML into <dir>/docs/html. Skipped with one message when Doxygen is
# missing (Debian: doxygen). CTest: docs.builds (label `docs`).
find_package(Doxygen QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "cohort: docs target skipped: Doxygen not found (Debian: doxygen)")
  return()
endif()

set(DOXYGEN_PROJECT_NAME cohort)
set(DOXYGEN_PROJECT_BRIEF "C++20 work-stealing task scheduler with structured task groups")
set(DOXYGEN_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/docs)
set(DOXYGEN_GENERATE_HTML YES)
set(DOXYGEN_GENERATE_LATEX NO)
set(DOXYGEN_WARN_AS_ERROR YES)  # the docs test fails on any warning
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_WARN_NO_PARAMDOC NO)
set(DOXYGEN_EXTRACT_ALL NO)
set(DOXYGEN_EXTRACT_PRIVATE NO)
set(DOXYGEN_HIDE_UNDOC_CLASSES NO)
set(DOXYGEN_RECURSIVE YES)
set(DOXYGEN_FILE_PATTERNS "*.hpp")
set(DOXYGEN_EXCLUDE_SYMBOLS "cohort::detail" "cohort::detail::*" "cohort::mpi::detail"
                            "cohort::mpi::detail::*")
set(DOXYGEN_STRIP_FROM_INC_PATH ${PROJECT_SOURCE_DIR}/include)
set(DOXYGEN_STRIP_FROM_PATH ${PROJECT_SOURCE_DIR}/include)
set(DOXYGEN_FULL_PATH_NAMES YES)
set(DOXYGEN_USE_MDFILE_AS_MAINPAGE ${PROJECT_SOURCE_DIR}/README.md)
set(DOXYGEN_JAVADOC_AUTOBRIEF YES)
set(DOXYGEN_QUIET YES)
set(DOXYGEN_DISTRIBUTE_GROUP_DOC YES)  # one comment for `T a, b;` documents both
# detail/ is machinery (templates the public headers need); every public name's
# documentation stands without it. algorithm/ is public: hence RECURSIVE.
set(DOXYGEN_EXCLUDE ${PROJECT_SOURCE_DIR}/include/cohort/detail)
doxygen_add_docs(docs
  ${PROJECT_SOURCE_DIR}/include/cohort ${PROJECT_SOURCE_DIR}/README.md
  COMMENT "API reference (Doxygen): ${CMAKE_CURRENT_BINARY_DIR}/docs/html/index.html")

if(COHORT_BUILD_TESTS)
  add_test(NAME docs.builds
    COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target docs --config $<CONFIG>)
  set_tests_properties(docs.builds PROPERTIES LABELS docs TIMEOUT 300)
endif()
