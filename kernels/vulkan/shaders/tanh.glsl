// tanh(u) from one exp of −2|u| (never ∞/∞, whatever the driver's own tanh does for large |u|); absolute error
// about 1e-7. Shared by the GELU and soft-cap shaders.
float tanh_safe(float u) {
  const float e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}
