# looptrace_add_pkg_config(NAME INCLUDE_DIR dir)
#
# The pkg-config file NAME from NAME.pc.in in the current source folder, twice:
#
#   <current build folder>/NAME.pc, installed to <libdir>/pkgconfig: relocatable, its prefix
#     found from the file's own place (${pcfiledir}); the public `looptrace`, `looptrace-rt`
#     and `looptrace-probes`.
#   build/lib/pkgconfig/NAME-uninstalled.pc, never installed: the build tree's libraries
#     (build/lib, with an rpath so that a program runs without LD_LIBRARY_PATH) and the source
#     tree's headers (INCLUDE_DIR). pkg-config prefers NAME-uninstalled.pc to NAME.pc in any
#     folder of PKG_CONFIG_PATH, so `PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config looptrace`
#     builds against the tree before it is installed (docs/instrumentation.md).
#
# NAME.pc.in uses @LT_PC_PREFIX@, @LT_PC_LIBDIR@, @LT_PC_INCLUDEDIR@ and @LT_PC_RPATH@ (empty
# when installed, " -Wl,-rpath,${libdir}" in the build tree), plus any variable of the caller.
set(LOOPTRACE_PC_BUILD_DIR ${CMAKE_BINARY_DIR}/lib/pkgconfig)

function(looptrace_add_pkg_config name)
	cmake_parse_arguments(PC "" "INCLUDE_DIR" "" ${ARGN})
	file(RELATIVE_PATH _to_prefix
		${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
	string(REGEX REPLACE "/$" "" _to_prefix "${_to_prefix}")
	set(LT_PC_PREFIX "\${pcfiledir}/${_to_prefix}")
	set(LT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
	set(LT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
	set(LT_PC_RPATH "")
	configure_file(${name}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc @ONLY)
	install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${name}.pc
		DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

	set(LT_PC_PREFIX "${CMAKE_BINARY_DIR}")
	set(LT_PC_LIBDIR "${CMAKE_LIBRARY_OUTPUT_DIRECTORY}")
	set(LT_PC_INCLUDEDIR "${PC_INCLUDE_DIR}")
	set(LT_PC_RPATH " -Wl,-rpath,\${libdir}")
	configure_file(${name}.pc.in ${LOOPTRACE_PC_BUILD_DIR}/${name}-uninstalled.pc @ONLY)
endfunction()
