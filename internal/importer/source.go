package importer

// mappedSource compiles a mapping against the files of dataDir.
func mappedSource(m *Mapping, dataDir string) (*source, error) {
	plans, probs := m.compile(dataDir)
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	src := &source{name: m.Source, dir: dataDir, plans: plans}
	if src.name == "" {
		src.name = "mapping " + m.path
	}
	for _, s := range m.Stages {
		src.stages = append(src.stages, s.stage(0))
	}
	return src, nil
}
