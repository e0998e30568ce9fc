# One INTERFACE target carries the language level, warnings and Qt strictness
# defines; every Natter target links it, so nothing is set globally.
add_library(natter_project_options INTERFACE)
add_library(Natter::ProjectOptions ALIAS natter_project_options)

target_compile_features(natter_project_options INTERFACE cxx_std_20)

target_compile_options(natter_project_options INTERFACE
    $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wold-style-cast -Woverloaded-virtual -Wnon-virtual-dtor>
    $<$<AND:$<BOOL:${NATTER_WARNINGS_AS_ERRORS}>,$<CXX_COMPILER_ID:GNU,Clang>>:-Werror>)

target_compile_definitions(natter_project_options INTERFACE
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    QT_USE_QSTRINGBUILDER
    QT_NO_URL_CAST_FROM_STRING
    NATTER_VERSION="${PROJECT_VERSION}")

if(NATTER_SANITIZE)
    # GCC 12's -Wmaybe-uninitialized misfires on optimised, instrumented code
    # (std::optional of Qt types): a known false positive, off only here.
    target_compile_options(natter_project_options INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer
        $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
    target_link_options(natter_project_options INTERFACE -fsanitize=address,undefined)
endif()

if(NATTER_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "NATTER_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
    endif()
    target_compile_options(natter_project_options INTERFACE
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
    target_link_options(natter_project_options INTERFACE -fsanitize=address,undefined)
endif()
