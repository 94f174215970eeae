# looptrace_add_test(NAME SOURCES src... [LIBS lib...] [LABELS l...] [TIMEOUT s] [ARGS a...])
#
# One test executable per area. Executables land in build/tests/. A test that lacks a tool
# it needs exits 77 (skipped); tests/common/lt_test.h turns that into a failure when CI=true.
function(looptrace_add_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE looptrace_test_support looptrace_warnings ${T_LIBS})
	set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
	add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
	set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
		SKIP_RETURN_CODE 77)
endfunction()

# looptrace_add_script_test(NAME COMMAND cmd... [LABELS l...] [TIMEOUT s] [FIXTURES f...])
# For shell and Python tests; same conventions as looptrace_add_test.
function(looptrace_add_script_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS;FIXTURES;ENV" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 300)
	endif()
	add_test(NAME ${name} COMMAND ${T_COMMAND})
	set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
		SKIP_RETURN_CODE 77)
	if(T_FIXTURES)
		set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
	endif()
	if(T_ENV)
		set_tests_properties(${name} PROPERTIES ENVIRONMENT "${T_ENV}")
	endif()
endfunction()
