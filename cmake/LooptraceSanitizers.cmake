# LOOPTRACE_SANITIZER="address;undefined" or "thread": applied to every target of the build.
if(LOOPTRACE_SANITIZER)
	string(REPLACE ";" "," _lt_san "${LOOPTRACE_SANITIZER}")
	add_compile_options(-fsanitize=${_lt_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
	add_link_options(-fsanitize=${_lt_san})
	message(STATUS "looptrace: building with -fsanitize=${_lt_san}")
endif()
