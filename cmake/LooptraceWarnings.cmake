# looptrace_warnings: an interface target carrying the project's warning flags. Link it
# PRIVATE into every target built from this repository (never exported).
add_library(looptrace_warnings INTERFACE)
target_compile_options(looptrace_warnings INTERFACE
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
	-Wno-unused-parameter
	$<$<BOOL:${LOOPTRACE_WERROR}>:-Werror>)
