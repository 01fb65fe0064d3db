# V8 from Debian's libnode, unpacked into third_party/libnode by scripts/setup.sh
# (DESIGN.md 6). libnode is built without RTTI: code deriving from V8 classes
# must be compiled with -fno-rtti.
set(CAIRN_LIBNODE_ROOT "${CMAKE_CURRENT_SOURCE_DIR}/third_party/libnode" CACHE PATH "Unpacked libnode108 + libnode-dev")
set(_v8_lib "${CAIRN_LIBNODE_ROOT}/usr/lib/x86_64-linux-gnu/libnode.so.108")
set(_v8_inc "${CAIRN_LIBNODE_ROOT}/usr/include/node")
if(EXISTS "${_v8_lib}" AND EXISTS "${_v8_inc}/v8.h")
  add_library(cairn_v8 SHARED IMPORTED GLOBAL)
  set_target_properties(cairn_v8 PROPERTIES
    IMPORTED_LOCATION "${_v8_lib}"
    IMPORTED_NO_SONAME FALSE
    INTERFACE_INCLUDE_DIRECTORIES "${_v8_inc}")
  add_library(cairn::v8 ALIAS cairn_v8)
  set(CAIRN_HAVE_V8 ON)
  set(CAIRN_V8_LIBRARY "${_v8_lib}")  # for the installed package config
  message(STATUS "cairn: V8 from ${_v8_lib}")
else()
  set(CAIRN_HAVE_V8 OFF)
  message(WARNING "cairn: V8 not found under ${CAIRN_LIBNODE_ROOT}; run scripts/setup.sh")
endif()
