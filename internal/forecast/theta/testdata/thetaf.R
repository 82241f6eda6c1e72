# Reference forecasts for theta_test.go: R's forecast::thetaf on a few M1
# series (train split), horizon as the competition's.
#   Rscript thetaf.R ../../../../../shared/data/mcomp > thetaf.csv
suppressPackageStartupMessages(library(forecast))
dir <- commandArgs(trailingOnly = TRUE)[1]
meta <- read.csv(file.path(dir, "m1_series.csv"), stringsAsFactors = FALSE)
vals <- read.csv(file.path(dir, "m1_values.csv"), stringsAsFactors = FALSE)
# Two yearly, two quarterly and four monthly series; QRF2, QNM4, MRM7 and
# MRM10 pass the seasonality test, QRF1, MRM8 and MRM12 do not.
pick <- c("YAF2", "YAM10", "QRF1", "QRF2", "QNM4", "MRM7", "MRM8", "MRM10", "MRM12")
cat("series,step,mean,lo80,hi80,lo95,hi95\n")
for (s in pick) {
  m <- meta[meta$series == s, ]
  d <- vals[vals$series == s & vals$split == "train", ]
  d <- d[order(d$index), ]
  fc <- thetaf(ts(d$value, frequency = m$frequency), h = m$horizon, level = c(80, 95))
  for (j in seq_len(m$horizon)) {
    cat(sprintf("%s,%d,%.10g,%.10g,%.10g,%.10g,%.10g\n", s, j, fc$mean[j], fc$lower[j, 1], fc$upper[j, 1], fc$lower[j, 2], fc$upper[j, 2]))
  }
}
