# SPDX-License-Identifier: Apache-2.0
# Install rules (only when COHORT_INSTALL is on). Components, which the .deb packages follow:
#   dev      headers, libcohort.a or the libcohort.so link, CMake package, pkg-config file
#   runtime  libcohort.so.<soversion> (shared builds only)
#   run      the cohort-run command (tools/cohort-run), when it is built
# (bin/cohort-trace-summary, tools/trace_summary.py, goes with dev: it reads any trace.)
include(CMakePackageConfigHelpers)

install(TARGETS cohort EXPORT cohortTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# mpi.hpp belongs to the optional cohort::mpi component: lib/mpi/CMakeLists.txt installs it
# with the component's library, and only when that is built.
install(DIRECTORY include/cohort DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
        PATTERN mpi.hpp EXCLUDE)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/cohort/export.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/cohort COMPONENT dev)
install(EXPORT cohortTargets NAMESPACE cohort:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cohort
        COMPONENT dev)
configure_package_config_file(cmake/cohortConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/cohortConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cohort)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/cohortConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cohortConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/cohortConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cohort COMPONENT dev)

# pkg-config: relocatable (prefix from the .pc file's own place), so an install under any
# --prefix or a .deb extracted anywhere still works.
file(RELATIVE_PATH cohort_pc_to_prefix
  "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
if(BUILD_SHARED_LIBS)
  set(cohort_pc_cflags "")
else()
  set(cohort_pc_cflags " -DCOHORT_STATIC_DEFINE")
endif()
configure_file(cmake/cohort.pc.in ${CMAKE_CURRENT_BINARY_DIR}/cohort.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cohort.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# tools/trace_summary.py: turns a COHORT_TRACE file into a per-task summary.
install(PROGRAMS tools/trace_summary.py DESTINATION ${CMAKE_INSTALL_BINDIR}
        RENAME cohort-trace-summary COMPONENT dev)
