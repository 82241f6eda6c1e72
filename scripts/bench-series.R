# Reference run for scripts/bench-series.sh: R's forecast::ets and
# forecast::thetaf on the M-competition CSVs, scored exactly as
# internal/forecast/series scores ours.
#
#   Rscript scripts/bench-series.R DATA_DIR [PERIODS] [PER_SERIES_OUT]
#
# PERIODS is a comma-separated list (default YEARLY,QUARTERLY,MONTHLY).
# Prints one summary CSV line per method and period:
#   method,period,series,smape,mase,snaive_smape,snaive_mase,seconds,,cover80,cover95
# (the empty column is the Go side's wall time; coverN is the share of test
# values inside the N% prediction interval).
suppressPackageStartupMessages(library(forecast))

args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/mcomp"
periods <- if (length(args) >= 2) strsplit(args[2], ",")[[1]] else c("YEARLY", "QUARTERLY", "MONTHLY")
per.series.out <- if (length(args) >= 3) args[3] else ""

meta <- read.csv(file.path(dir, "m1_series.csv"), stringsAsFactors = FALSE)
vals <- read.csv(file.path(dir, "m1_values.csv"), stringsAsFactors = FALSE)
vals <- vals[order(vals$series, vals$split, vals$index), ]
by.series <- split(vals, vals$series)

smape <- function(y, f) mean(ifelse(abs(y) + abs(f) > 0, 200 * abs(y - f) / (abs(y) + abs(f)), 0))
mase <- function(train, y, f, m) {
  if (m < 1 || length(train) <= m) m <- 1
  if (length(train) <= m) return(NA)
  scale <- mean(abs(diff(train, lag = m)))
  if (scale == 0) return(NA)
  mean(abs(y - f)) / scale
}
snaive.fc <- function(train, m, h) {
  n <- length(train)
  if (n < m) m <- 1
  train[n - m + ((0:(h - 1)) %% m) + 1]
}

methods <- list(
  "R-ets" = function(x, h) forecast(ets(x), h = h, level = c(80, 95)),
  "R-thetaf" = function(x, h) thetaf(x, h = h, level = c(80, 95))
)
rows <- list()
for (method in names(methods)) for (p in toupper(periods)) {
  ms <- meta[toupper(meta$period) == p, ]
  if (nrow(ms) == 0) next
  # Time only the fitting and forecasting, as the Go side reports it.
  fits <- vector("list", nrow(ms))
  t0 <- proc.time()[["elapsed"]]
  for (i in seq_len(nrow(ms))) {
    d <- by.series[[ms$series[i]]]
    train <- d$value[d$split == "train"]
    fc <- methods[[method]](ts(train, frequency = ms$frequency[i]), ms$horizon[i])
    fits[[i]] <- list(model = fc$method, mean = as.numeric(fc$mean), lower = fc$lower, upper = fc$upper)
  }
  secs <- proc.time()[["elapsed"]] - t0
  sc <- data.frame()
  inside80 <- inside95 <- steps <- 0
  for (i in seq_len(nrow(ms))) {
    d <- by.series[[ms$series[i]]]
    train <- d$value[d$split == "train"]
    test <- d$value[d$split == "test"]
    h <- min(ms$horizon[i], length(test))
    f <- fits[[i]]$mean[1:h]
    y <- test[1:h]
    nv <- snaive.fc(train, ms$frequency[i], h)
    inside80 <- inside80 + sum(fits[[i]]$lower[1:h, 1] <= y & y <= fits[[i]]$upper[1:h, 1])
    inside95 <- inside95 + sum(fits[[i]]$lower[1:h, 2] <= y & y <= fits[[i]]$upper[1:h, 2])
    steps <- steps + h
    sc <- rbind(sc, data.frame(method = method, series = ms$series[i], period = p, model = fits[[i]]$model,
      smape = smape(y, f), mase = mase(train, y, f, ms$frequency[i]),
      snaive_smape = smape(y, nv), snaive_mase = mase(train, y, nv, ms$frequency[i])))
  }
  rows[[paste(method, p)]] <- sc
  ok <- !is.na(sc$mase) & !is.na(sc$snaive_mase)
  cat(sprintf("%s,%s,%d,%.4f,%.4f,%.4f,%.4f,%.2f,,%.4f,%.4f\n", method, p, nrow(sc), mean(sc$smape), mean(sc$mase[ok]),
    mean(sc$snaive_smape), mean(sc$snaive_mase[ok]), secs, inside80 / steps, inside95 / steps))
}
if (per.series.out != "") write.csv(do.call(rbind, rows), per.series.out, row.names = FALSE)
