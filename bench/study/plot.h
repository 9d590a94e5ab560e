// The study's figures through cairo: line plots with 95% bands and error bars, grouped bars with error
// bars, and a scatter with a Pareto line; each written as PNG and SVG. Not a general plotting library.
#pragma once

#include <string>
#include <vector>

namespace edgellm::study {

struct Series {
  std::string name;
  std::vector<double> x, y, lo, hi;  // lo/hi: the 95% interval per point (empty: none)
  std::vector<std::string> labels;   // scatter: a label per point (optional)
};

struct Figure {
  enum Kind { Line, Bars, Scatter } kind = Line;
  std::string title, xlabel, ylabel;
  bool log_x = false;
  std::vector<std::string> groups;  // Bars: the x categories; Series::y[g] is the bar in group g
  std::vector<Series> series;
  Series frontier;                  // Scatter: drawn as a step line when not empty
  double y_min = 0, y_max = 1;      // fixed y range (scores are shares)
};

// Whether this build draws plots (libcairo found at configure time).
bool plots_available();
// Writes stem.png and stem.svg; returns false (and writes nothing) without cairo.
bool write_figure(const Figure& f, const std::string& stem);

}  // namespace edgellm::study
