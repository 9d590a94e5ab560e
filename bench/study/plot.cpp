// Cairo drawing of the study's figures (one renderer for PNG and SVG surfaces).
// Not interactive and not general: axes, ticks, legend and the three kinds the report needs.
#include "bench/study/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

#ifdef EDGELLM_HAVE_CAIRO
#include <cairo-svg.h>
#include <cairo.h>
#endif

namespace edgellm::study {

#ifndef EDGELLM_HAVE_CAIRO
bool plots_available() { return false; }
bool write_figure(const Figure&, const std::string&) { return false; }
#else
bool plots_available() { return true; }

namespace {

constexpr double W = 900, H = 560, L = 80, R = 230, T = 50, B = 70;  // canvas and margins (px)

void color(cairo_t* cr, size_t i, double a = 1) {
  static const double c[][3] = {{0.12, 0.47, 0.71}, {1.0, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                                {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                                {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};
  const auto& k = c[i % 10];
  cairo_set_source_rgba(cr, k[0], k[1], k[2], a);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, double align_x = 0, bool vertical = false) {
  cairo_save(cr);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, x, y);
  if (vertical) cairo_rotate(cr, -M_PI / 2);
  cairo_rel_move_to(cr, -align_x * e.x_advance, 0);
  cairo_show_text(cr, s.c_str());
  cairo_restore(cr);
}

std::string tick_label(double v) {
  if (std::fabs(v) >= 1000) return fmt::format("{:.0f}", v);
  if (std::fabs(v - std::round(v)) < 1e-9) return fmt::format("{:.0f}", v);
  return fmt::format("{:.2g}", v);
}

void draw(cairo_t* cr, const Figure& f) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  const double pw = W - L - R, ph = H - T - B;
  // x range
  double x0 = 0, x1 = 1;
  if (f.kind != Figure::Bars) {
    bool first = true;
    for (const auto& s : f.series)
      for (double x : s.x) {
        if (f.log_x && x <= 0) continue;
        x0 = first ? x : std::min(x0, x), x1 = first ? x : std::max(x1, x), first = false;
      }
    if (first) x0 = 0, x1 = 1;
    if (f.log_x) x0 = std::log10(x0), x1 = std::log10(x1);
    if (x1 - x0 < 1e-9) x0 -= 0.5, x1 += 0.5;
    const double pad = 0.05 * (x1 - x0);
    x0 -= pad, x1 += pad;
  } else {
    x0 = 0, x1 = static_cast<double>(std::max<size_t>(1, f.groups.size()));
  }
  // y: the figure's range, shrunk to the data when everything lies below half of it (0.1 steps).
  double top = 0;
  for (const auto& s : f.series) {
    for (double v : s.y) top = std::isnan(v) ? top : std::max(top, v);
    for (double v : s.hi) top = std::isnan(v) ? top : std::max(top, v);
  }
  const double y0 = f.y_min,
               y1 = top < 0.5 * (f.y_max - f.y_min) + f.y_min ? std::max(f.y_min + 0.1, std::ceil(top * 10 + 1e-9) / 10) : f.y_max;
  auto X = [&](double x) { return L + (((f.log_x && f.kind != Figure::Bars) ? std::log10(x) : x) - x0) / (x1 - x0) * pw; };
  // 2% of the height below y0 so that a series at zero is not hidden by the axis
  auto Y = [&](double y) { return T + 0.98 * ph - (std::clamp(y, y0, y1) - y0) / (y1 - y0) * 0.98 * ph; };
  // grid and y ticks
  cairo_set_line_width(cr, 1);
  for (int i = 0; i <= 5; ++i) {
    const double v = y0 + (y1 - y0) * i / 5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, L, Y(v)), cairo_line_to(cr, L + pw, Y(v)), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, L - 8, Y(v) + 4, tick_label(v), 12, 1);
  }
  // x ticks
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (f.kind == Figure::Bars) {
    for (size_t g = 0; g < f.groups.size(); ++g) text(cr, X(g + 0.5), T + ph + 20, f.groups[g], 12, 0.5);
  } else {
    std::vector<double> xs;
    for (const auto& s : f.series) xs.insert(xs.end(), s.x.begin(), s.x.end());
    std::sort(xs.begin(), xs.end());
    xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
    if (xs.size() > 10 || f.kind == Figure::Scatter) {  // evenly spaced ticks instead
      xs.clear();
      for (int i = 0; i <= 5; ++i) {
        const double v = x0 + (x1 - x0) * i / 5;
        xs.push_back(f.log_x ? std::pow(10, v) : v);
      }
    }
    for (double x : xs) {
      if (f.log_x && x <= 0) continue;
      text(cr, X(x), T + ph + 20, tick_label(f.kind == Figure::Scatter || xs.size() > 10 ? std::round(x * 100) / 100 : x), 12, 0.5);
    }
  }
  // axes, labels, title
  cairo_set_line_width(cr, 1.5);
  cairo_move_to(cr, L, T), cairo_line_to(cr, L, T + ph), cairo_line_to(cr, L + pw, T + ph), cairo_stroke(cr);
  text(cr, L + pw / 2, H - 22, f.xlabel, 14, 0.5);
  text(cr, 22, T + ph / 2, f.ylabel, 14, 0.5, true);
  text(cr, W / 2, 30, f.title, 17, 0.5);
  cairo_save(cr);
  cairo_rectangle(cr, L, T, pw, ph);
  cairo_clip(cr);
  const size_t ns = f.series.size();
  for (size_t i = 0; i < ns; ++i) {
    const Series& s = f.series[i];
    const bool ci = s.lo.size() == s.y.size() && s.hi.size() == s.y.size();
    if (f.kind == Figure::Bars) {
      const double gw = pw / static_cast<double>(std::max<size_t>(1, f.groups.size())), bw = 0.8 * gw / static_cast<double>(ns);
      for (size_t g = 0; g < s.y.size() && g < f.groups.size(); ++g) {
        if (std::isnan(s.y[g])) continue;
        const double xl = L + gw * (g + 0.1) + bw * i;
        color(cr, i, 0.85);
        cairo_rectangle(cr, xl, Y(s.y[g]), bw * 0.92, Y(y0) - Y(s.y[g]));
        cairo_fill(cr);
        if (ci) {
          cairo_set_source_rgb(cr, 0, 0, 0), cairo_set_line_width(cr, 1.2);
          const double xc = xl + bw * 0.46;
          cairo_move_to(cr, xc, Y(s.lo[g])), cairo_line_to(cr, xc, Y(s.hi[g]));
          cairo_move_to(cr, xc - 3, Y(s.lo[g])), cairo_line_to(cr, xc + 3, Y(s.lo[g]));
          cairo_move_to(cr, xc - 3, Y(s.hi[g])), cairo_line_to(cr, xc + 3, Y(s.hi[g]));
          cairo_stroke(cr);
        }
      }
      continue;
    }
    if (f.kind == Figure::Line && ci && s.x.size() > 1) {  // band
      color(cr, i, 0.15);
      for (size_t k = 0; k < s.x.size(); ++k) (k ? cairo_line_to : cairo_move_to)(cr, X(s.x[k]), Y(s.hi[k]));
      for (size_t k = s.x.size(); k-- > 0;) cairo_line_to(cr, X(s.x[k]), Y(s.lo[k]));
      cairo_close_path(cr), cairo_fill(cr);
    }
    color(cr, i);
    cairo_set_line_width(cr, 2);
    if (f.kind == Figure::Line) {
      for (size_t k = 0; k < s.x.size(); ++k) (k ? cairo_line_to : cairo_move_to)(cr, X(s.x[k]), Y(s.y[k]));
      cairo_stroke(cr);
    }
    for (size_t k = 0; k < s.x.size(); ++k) {
      cairo_arc(cr, X(s.x[k]), Y(s.y[k]), f.kind == Figure::Scatter ? 4.5 : 3.5, 0, 2 * M_PI), cairo_fill(cr);
      if (ci) {
        cairo_set_line_width(cr, 1.2);
        cairo_move_to(cr, X(s.x[k]), Y(s.lo[k])), cairo_line_to(cr, X(s.x[k]), Y(s.hi[k])), cairo_stroke(cr);
      }
    }
  }
  if (f.kind == Figure::Scatter && f.frontier.x.size() > 0) {  // Pareto steps
    cairo_set_source_rgba(cr, 0, 0, 0, 0.8), cairo_set_line_width(cr, 1.5);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, 2, 0);
    const auto& p = f.frontier;
    for (size_t k = 0; k < p.x.size(); ++k) {
      if (k == 0) cairo_move_to(cr, X(p.x[k]), Y(p.y[k]));
      else cairo_line_to(cr, X(p.x[k]), Y(p.y[k - 1])), cairo_line_to(cr, X(p.x[k]), Y(p.y[k]));
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
  }
  cairo_restore(cr);
  // legend
  double ly = T + 10;
  for (size_t i = 0; i < ns; ++i, ly += 20) {
    color(cr, i);
    cairo_rectangle(cr, W - R + 15, ly - 9, 14, 10), cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, W - R + 35, ly, f.series[i].name, 12);
  }
  if (f.kind == Figure::Scatter && !f.frontier.x.empty()) text(cr, W - R + 15, ly + 5, "- - Pareto frontier", 12);
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  text(cr, W - R + 15, H - 22, "bars/bands: 95% CI over seeds", 10);
}

}  // namespace

bool write_figure(const Figure& f, const std::string& stem) {
  cairo_surface_t* png = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, static_cast<int>(W), static_cast<int>(H));
  cairo_t* cr = cairo_create(png);
  draw(cr, f);
  cairo_destroy(cr);
  const auto st = cairo_surface_write_to_png(png, (stem + ".png").c_str());
  cairo_surface_destroy(png);
  if (st != CAIRO_STATUS_SUCCESS) fail("{}.png: cannot write ({})", stem, cairo_status_to_string(st));
  cairo_surface_t* svg = cairo_svg_surface_create((stem + ".svg").c_str(), W, H);
  cr = cairo_create(svg);
  draw(cr, f);
  cairo_destroy(cr);
  cairo_surface_finish(svg);
  const auto st2 = cairo_surface_status(svg);
  cairo_surface_destroy(svg);
  if (st2 != CAIRO_STATUS_SUCCESS) fail("{}.svg: cannot write ({})", stem, cairo_status_to_string(st2));
  return true;
}
#endif

}  // namespace edgellm::study
