package series

import (
	"os"
)

// Load reads a series file and its values file from disk.
func Load(seriesPath, valuesPath string) ([]Series, Values, error) {
	f, err := os.Open(seriesPath)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ss, err := ReadSeries(f, seriesPath)
	if err != nil {
		return nil, nil, err
	}
	g, err := os.Open(valuesPath)
	if err != nil {
		return nil, nil, err
	}
	defer g.Close()
	vs, err := ReadValues(g, valuesPath, ss)
	if err != nil {
		return nil, nil, err
	}
	return ss, vs, nil
}
