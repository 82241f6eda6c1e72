// Draws every chart of the page with Apache ECharts from the spec the server
// wrote into data-spec (see internal/web/charts.go for the rules). Without
// this script the page still shows each chart's table twin.
(function () {
	'use strict';
	var palette = ['#1f5fbf', '#9bbbe9', '#d9822b', '#3a9d5d', '#8e5ea2', '#b3261e'];

	function round1(x) { return (Math.round(x * 10) / 10).toString(); }

	// 8200000 → "8.2M": axis labels short, the unit named once on the axis.
	function compact(v) {
		var a = Math.abs(v);
		if (a >= 1e9) return round1(v / 1e9) + 'B';
		if (a >= 1e6) return round1(v / 1e6) + 'M';
		if (a >= 1e3) return round1(v / 1e3) + 'k';
		return round1(v);
	}

	// niceCeil rounds up to 1, 2, 2.5 or 5 times a power of ten, so an axis
	// stretched to show a line ends on a round label.
	function niceCeil(v) {
		if (v <= 0) return 1;
		var p = Math.pow(10, Math.floor(Math.log10(v)));
		var steps = [1, 2, 2.5, 5, 10];
		for (var i = 0; i < steps.length; i++) if (v <= steps[i] * p) return steps[i] * p;
		return 10 * p;
	}

	function full(v, s) {
		if (v === null || v === undefined) return '–';
		var t = Math.round(v).toLocaleString('en-US');
		return s.money ? s.unit + ' ' + t : t + ' ' + s.unit;
	}

	function draw(el) {
		var s = JSON.parse(el.dataset.spec);
		var horizontal = s.kind === 'hbar';
		var n = s.categories.length;
		var cats = s.categories.map(function (c, i) { return i === s.partial ? c + ' (to date)' : c; });
		var width = el.clientWidth || 600;
		var longest = 0;
		cats.forEach(function (c) { longest = Math.max(longest, c.length); });
		// Every category labelled: rotate when they would not fit side by side.
		var rotate = !horizontal && n * (longest * 7 + 10) > width - 90 ? 35 : 0;
		var catAxis = {
			type: 'category', data: cats, inverse: horizontal,
			axisLabel: { interval: 0, rotate: rotate, fontSize: 12, color: '#1d2433' },
			axisTick: { alignWithLabel: true }
		};
		var valAxis = {
			type: 'value', min: 0, name: s.unit, nameTextStyle: { fontSize: 12, color: '#5b6478' },
			axisLabel: { formatter: compact, fontSize: 12, color: '#5b6478' }
		};
		var series = s.series.map(function (ser) {
			return {
				name: ser.name, type: s.kind === 'line' ? 'line' : 'bar', barMaxWidth: 48,
				data: ser.values.map(function (v, i) {
					var d = { value: v };
					if (i === s.partial) d.itemStyle = { opacity: 0.45 };
					return d;
				}),
				label: ser.labels ? {
					show: true, position: horizontal ? 'right' : 'top', fontSize: 12, color: '#1d2433',
					formatter: function (p) { return ser.labels[p.dataIndex]; }
				} : { show: false }
			};
		});
		if (s.line !== undefined && s.line !== null && series.length > 0) {
			series[0].markLine = {
				symbol: 'none', silent: true, lineStyle: { color: '#b3261e', type: 'dashed', width: 2 },
				label: { formatter: s.line_label, position: 'insideEndTop', color: '#b3261e', fontSize: 12 },
				data: [horizontal ? { xAxis: s.line } : { yAxis: s.line }]
			};
			// Keep the line on the chart when it is above every bar.
			valAxis.max = function (v) { return niceCeil(Math.max(v.max, s.line) * 1.05); };
		}
		var height = horizontal ? Math.max(220, n * 36 + 70) : 320;
		el.style.height = height + 'px';
		var chart = echarts.init(el, null, { renderer: 'canvas' });
		chart.setOption({
			color: palette, animation: false,
			grid: { left: rotate ? Math.min(90, longest * 5) : 12, right: horizontal ? 96 : 16, top: 40, bottom: 8, containLabel: true },
			tooltip: { trigger: 'axis', renderMode: 'richText', valueFormatter: function (v) { return full(v, s); } },
			legend: s.series.length > 1 ? { top: 0, right: 0 } : { show: false },
			xAxis: horizontal ? valAxis : catAxis,
			yAxis: horizontal ? catAxis : valAxis,
			series: series
		});
		el.dataset.drawn = 'true';
		window.addEventListener('resize', function () { chart.resize(); });
	}

	document.querySelectorAll('.chart-canvas[data-spec]').forEach(draw);
})();
