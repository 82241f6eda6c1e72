package storetest

import (
	"encoding/csv"
	"os"
	"testing"
)

// ReadCSV reads a whole CSV file (a data set, an import's rejects file),
// header row included, failing the test on error.
func ReadCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs
}
