// Shared declarations of the attention-backward shaders (attention_backward_*.comp, attention_tiled_d*.comp):
// buffers, push constants, row addresses. Not a shader by itself.
// P_ij = exp(scale·q_i·k_j − L_i); D_i = dO_i·o_i; dS_ij = P_ij·(dO_i·v_j − D_i).
// ATTN_BWD_D_NOT_O: binding 5 holds D (T, NH) per sequence instead of o (attention_tiled_dkv.comp, which needs
// nine buffers otherwise; the Batch binds at most eight).
#ifndef ATTN_BWD_THREADS
#define ATTN_BWD_THREADS 64  // attention_flash_d*.comp: 128
#endif
layout(local_size_x = ATTN_BWD_THREADS) in;
layout(std430, binding = 1) readonly buffer DOBuf { float dO[]; };
layout(std430, binding = 2) readonly buffer QBuf { float q[]; };
layout(std430, binding = 3) readonly buffer KBuf { float kc[]; };
layout(std430, binding = 4) readonly buffer VBuf { float vc[]; };
#ifdef ATTN_BWD_D_NOT_O
layout(std430, binding = 5) readonly buffer DBuf { float Dw[]; };
#else
layout(std430, binding = 5) readonly buffer OBuf { float o[]; };
#endif
layout(std430, binding = 6) readonly buffer LBuf { float L[]; };
layout(push_constant) uniform P {
  uint T, S, NH, KVH, HD, pos0;
  uint q_st, k_st, v_st, o_st;
  float scale;
} p;

// Workgroup z is the sequence of a batch: its T query rows and S key rows follow the previous sequences'.
uint qrow(uint t, uint h) { return (gl_WorkGroupID.z * p.T + t) * p.q_st + h * p.HD; }
uint orow(uint t, uint h) { return (gl_WorkGroupID.z * p.T + t) * p.o_st + h * p.HD; }  // o and dO share a layout
uint krow(uint s, uint g) { return (gl_WorkGroupID.z * p.S + s) * p.k_st + g * p.HD; }
uint vrow(uint s, uint g) { return (gl_WorkGroupID.z * p.S + s) * p.v_st + g * p.HD; }
uint lrow(uint t, uint h) { return (gl_WorkGroupID.z * p.T + t) * p.NH + h; }
