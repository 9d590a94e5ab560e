# What `cmake --install` puts under a prefix: include/edgellm/, libedgellm.so (versioned, the C API only),
# libedgellm.a, the CMake package (edgellm::edgellm, edgellm::edgellm_static), edgellm.pc and bin/edgellm.
# Not the study (bench/study): the CLI links it, integrators never do; and no C++ headers (the C API is the interface).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# What a static link of libedgellm.a needs beyond it, as linker names (one list: the CMake package and
# edgellm.pc's Libs.private both come from it). Plain names rather than imported targets, so that a consumer of
# the shared library needs none of these packages' development files.
set(EDGELLM_STATIC_LIBS)
if(NOT EDGELLM_FMT_HEADER_ONLY)
  list(APPEND EDGELLM_STATIC_LIBS fmt)
endif()
if(EDGELLM_VULKAN)
  list(APPEND EDGELLM_STATIC_LIBS vulkan)
endif()
# FindOpenMP's names for this compiler's runtime (gomp and pthread for GCC, omp for clang).
if(OpenMP_CXX_LIB_NAMES)
  list(APPEND EDGELLM_STATIC_LIBS ${OpenMP_CXX_LIB_NAMES})
else()
  list(APPEND EDGELLM_STATIC_LIBS gomp)
endif()
list(APPEND EDGELLM_STATIC_LIBS pthread stdc++ m)
list(REMOVE_DUPLICATES EDGELLM_STATIC_LIBS)

set_target_properties(edgellm_shared PROPERTIES EXPORT_NAME edgellm)
set_target_properties(edgellm PROPERTIES EXPORT_NAME edgellm_static)
target_link_libraries(edgellm INTERFACE "$<INSTALL_INTERFACE:${EDGELLM_STATIC_LIBS}>")

install(FILES ${CMAKE_SOURCE_DIR}/include/edgellm/edgellm.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/edgellm)
install(TARGETS edgellm_shared edgellm EXPORT edgellmTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS edgellm_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(EDGELLM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/edgellm)
install(EXPORT edgellmTargets NAMESPACE edgellm:: DESTINATION ${EDGELLM_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/edgellmConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/edgellmConfig.cmake INSTALL_DESTINATION ${EDGELLM_CMAKE_DIR})
# 0.x: a minor version may change the ABI (SOVERSION is the major), so only the same minor is compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/edgellmConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/edgellmConfig.cmake ${CMAKE_BINARY_DIR}/edgellmConfigVersion.cmake
        DESTINATION ${EDGELLM_CMAKE_DIR})

# edgellm.pc finds its prefix from its own place (${pcfiledir}), so `cmake --install --prefix P` to any P works.
file(RELATIVE_PATH EDGELLM_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
list(TRANSFORM EDGELLM_STATIC_LIBS PREPEND -l OUTPUT_VARIABLE EDGELLM_PC_LIBS_PRIVATE)
list(JOIN EDGELLM_PC_LIBS_PRIVATE " " EDGELLM_PC_LIBS_PRIVATE)
configure_file(${CMAKE_SOURCE_DIR}/cmake/edgellm.pc.in ${CMAKE_BINARY_DIR}/edgellm.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/edgellm.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
