# The optional Vulkan backend (EDGELLM_VULKAN=ON): compiles kernels/vulkan/shaders/*.comp to SPIR-V with
# glslc at build time and embeds the words in a generated .cpp. Not used by the CPU build; no run-time compiler.
find_package(Vulkan REQUIRED)
find_program(EDGELLM_GLSLC glslc)
if(NOT EDGELLM_GLSLC)
  message(FATAL_ERROR "EDGELLM_VULKAN=ON needs glslc (Debian: apt-get install glslc)")
endif()

set(_sh ${CMAKE_SOURCE_DIR}/kernels/vulkan/shaders)
set(_out ${CMAKE_BINARY_DIR}/vulkan_spv)
file(MAKE_DIRECTORY ${_out})
file(GLOB _includes CONFIGURE_DEPENDS ${_sh}/*.glsl)

# A tile spec "NAME=v1,v2,..." against define names "K1;K2;...": NAME into out_name, "-DK1=v1,-DK2=v2,..." into
# out_defs.
function(_spec_defines spec keys out_name out_defs)
  string(REPLACE "=" ";" _p ${spec})
  list(GET _p 0 _n)
  list(GET _p 1 _v)
  string(REPLACE "," ";" _v "${_v}")
  set(_d)
  foreach(kv IN ZIP_LISTS keys _v)
    list(APPEND _d "-D${kv_0}=${kv_1}")
  endforeach()
  string(REPLACE ";" "," _d "${_d}")
  set(${out_name} ${_n} PARENT_SCOPE)
  set(${out_defs} ${_d} PARENT_SCOPE)
endfunction()

# name|source|defines(,-separated -D flags): one SPIR-V module each.
set(_wtypes "f32=0" "f16=1" "q4_0=2" "q5_0=6" "q5_1=7" "q8_0=8" "q2_k=10" "q3_k=11" "q4_k=12" "q6_k=14"
    "gint=1000")
set(_variants)
foreach(w ${_wtypes})
  string(REPLACE "=" ";" _p ${w})
  list(GET _p 0 _n)
  list(GET _p 1 _id)
  list(APPEND _variants "gemm_${_n}|gemm.comp|-DWTYPE=${_id}" "matvec_${_n}|matvec.comp|-DWTYPE=${_id}"
       "matvec_fused_${_n}|matvec_fused.comp|-DWTYPE=${_id},-DNORM=0"
       "matvec_fused_norm_${_n}|matvec_fused.comp|-DWTYPE=${_id},-DNORM=1")
endforeach()
# The f32 training GEMM per layout (A stored (M, K) "n" or (K, M) "t"; B (K, N) "n" or (N, K) "t") and tile
# (BMxBN, BK, per-thread TMxTN): kernels/vulkan/gemm.cpp's kTiles, the same names.
set(_tiles "64x64_4x4=64,64,16,4,4" "64x64_8x4=64,64,16,8,4" "128x64_8x4=128,64,16,8,4" "128x128_8x8=128,128,8,8,8")
foreach(l "nn=0,0" "nt=0,1" "tn=1,0" "tt=1,1")
  string(REPLACE "=" ";" _lp ${l})
  list(GET _lp 0 _ln)
  list(GET _lp 1 _lt)
  string(REPLACE "," ";" _lt "${_lt}")
  list(GET _lt 0 _at)
  list(GET _lt 1 _bt)
  foreach(t ${_tiles})
    _spec_defines(${t} "BM;BN;BK;TM;TN" _tn _td)
    list(APPEND _variants "gemm_f32_${_ln}_${_tn}|gemm_tiled.comp|-DA_T=${_at},-DB_T=${_bt},${_td}")
  endforeach()
endforeach()
# The matvecs with a lane per block (matvec_dot.glsl's MV_BLOCKS) for Q4_0 and Q8_0: EDGELLM_VULKAN_MATVEC=blocks.
foreach(w "q4_0=2" "q8_0=8")
  string(REPLACE "=" ";" _p ${w})
  list(GET _p 0 _n)
  list(GET _p 1 _id)
  list(APPEND _variants "matvec_${_n}_blocks|matvec.comp|-DWTYPE=${_id},-DMV_BLOCKS=1"
       "matvec_fused_${_n}_blocks|matvec_fused.comp|-DWTYPE=${_id},-DNORM=0,-DMV_BLOCKS=1"
       "matvec_fused_norm_${_n}_blocks|matvec_fused.comp|-DWTYPE=${_id},-DNORM=1,-DMV_BLOCKS=1")
endforeach()
# The matvecs by words with 4 or 8 steps' loads in flight (matvec_dot.glsl's MV_DEEP) for Q4_0 and Q8_0:
# EDGELLM_VULKAN_MATVEC=deep|deep8.
foreach(w "q4_0=2" "q8_0=8")
  string(REPLACE "=" ";" _p ${w})
  list(GET _p 0 _n)
  list(GET _p 1 _id)
  foreach(d "deep=4" "deep8=8")
    string(REPLACE "=" ";" _dp ${d})
    list(GET _dp 0 _dn)
    list(GET _dp 1 _dd)
    list(APPEND _variants "matvec_${_n}_${_dn}|matvec.comp|-DWTYPE=${_id},-DMV_DEEP=${_dd}"
         "matvec_fused_${_n}_${_dn}|matvec_fused.comp|-DWTYPE=${_id},-DNORM=0,-DMV_DEEP=${_dd}"
         "matvec_fused_norm_${_n}_${_dn}|matvec_fused.comp|-DWTYPE=${_id},-DNORM=1,-DMV_DEEP=${_dd}")
  endforeach()
endforeach()
# The staged matvecs (matvec_wide.glsl) for Q4_0, Q8_0, Q4_K and Q6_K: EDGELLM_VULKAN_MATVEC=wide (the default).
foreach(w "q4_0=2" "q8_0=8" "q4_k=12" "q6_k=14")
  string(REPLACE "=" ";" _p ${w})
  list(GET _p 0 _n)
  list(GET _p 1 _id)
  list(APPEND _variants "matvec_${_n}_wide|matvec.comp|-DWTYPE=${_id},-DMV_WIDE=1"
       "matvec_fused_${_n}_wide|matvec_fused.comp|-DWTYPE=${_id},-DNORM=0,-DMV_WIDE=1"
       "matvec_fused_norm_${_n}_wide|matvec_fused.comp|-DWTYPE=${_id},-DNORM=1,-DMV_WIDE=1")
endforeach()
# The dequantizing tiled GEMM per weight type (not f32: it takes the f32 GEMM), layout (nt: x·Wᵀ, the forward;
# nn: dy·W, the input gradient) and the two tiles gemm_choice ever picks: kernels/vulkan/gemm.cpp's linear_gemm.
# With them the tensor-core prompt GEMM (gemm_coop.comp, x·Wᵀ only) per tile (BMxBN, BK, subgroups SMxSN):
# kTiles' names; each also as *_emu (COOP_EMU: plain code in place of the cooperative-matrix operations, for
# lavapipe, which has none).
foreach(w ${_wtypes})
  string(REPLACE "=" ";" _p ${w})
  list(GET _p 0 _n)
  list(GET _p 1 _id)
  if(_n STREQUAL "f32")
    continue()
  endif()
  foreach(l "nt=1" "nn=0")
    string(REPLACE "=" ";" _lp ${l})
    list(GET _lp 0 _ln)
    list(GET _lp 1 _bt)
    list(APPEND _variants
         "gemm_${_n}_${_ln}_64x64_4x4|gemm_tiled.comp|-DWTYPE=${_id},-DA_T=0,-DB_T=${_bt},-DBM=64,-DBN=64,-DBK=16,-DTM=4,-DTN=4"
         "gemm_${_n}_${_ln}_128x64_8x4|gemm_tiled.comp|-DWTYPE=${_id},-DA_T=0,-DB_T=${_bt},-DBM=128,-DBN=64,-DBK=16,-DTM=8,-DTN=4")
  endforeach()
  foreach(t "64x64=64,64,32,2,2" "128x64=128,64,32,2,2" "128x128=128,128,32,2,4")
    _spec_defines(${t} "BM;BN;BK;SM;SN" _tn _td)
    list(APPEND _variants "gemm_${_n}_nt_coop_${_tn}|gemm_coop.comp|-DWTYPE=${_id},${_td},-DCOOP_EMU=0"
         "gemm_${_n}_nt_coop_${_tn}_emu|gemm_coop.comp|-DWTYPE=${_id},${_td},-DCOOP_EMU=1")
  endforeach()
endforeach()
# The tiled and flash attention shaders also for heads of up to 128 dims (smaller tiles; kernels/vulkan/ops.cpp picks
# by HD).
foreach(a attention_tiled attention_tiled_dq attention_tiled_dkv attention_flash attention_flash_dq attention_flash_dkv
        attention_decode_split)
  list(APPEND _variants "${a}_hd128|${a}.comp|-DHDM=128")
endforeach()
file(GLOB _plain CONFIGURE_DEPENDS ${_sh}/*.comp)
foreach(f ${_plain})
  get_filename_component(_n ${f} NAME_WE)
  if(NOT _n STREQUAL "gemm" AND NOT _n STREQUAL "gemm_tiled" AND NOT _n STREQUAL "gemm_coop" AND NOT _n STREQUAL "matvec"
     AND NOT _n STREQUAL "matvec_fused")
    list(APPEND _variants "${_n}|${_n}.comp|")
  endif()
endforeach()

set(_spvs)
set(_names)
foreach(v ${_variants})
  string(REPLACE "|" ";" _p "${v}")
  list(GET _p 0 _n)
  list(GET _p 1 _src)
  list(LENGTH _p _len)
  set(_defs)
  if(_len GREATER 2)
    list(GET _p 2 _defs)
    string(REPLACE "," ";" _defs "${_defs}")
  endif()
  add_custom_command(OUTPUT ${_out}/${_n}.spv
    COMMAND ${EDGELLM_GLSLC} -O --target-env=vulkan1.1 ${_defs} -I ${_sh} -o ${_out}/${_n}.spv ${_sh}/${_src}
    DEPENDS ${_sh}/${_src} ${_includes}
    COMMENT "glslc ${_n}" VERBATIM)
  list(APPEND _spvs ${_out}/${_n}.spv)
  list(APPEND _names ${_n})
endforeach()

set(EDGELLM_VULKAN_SPV_CPP ${_out}/spirv_embedded.cpp)
add_custom_command(OUTPUT ${EDGELLM_VULKAN_SPV_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${EDGELLM_VULKAN_SPV_CPP} -DDIR=${_out} "-DNAMES=${_names}"
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  DEPENDS ${_spvs} ${CMAKE_SOURCE_DIR}/cmake/embed_spirv.cmake
  COMMENT "embedding the SPIR-V modules" VERBATIM)
