package journal

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkAppend: 4 KiB appends, no durability asked.
func BenchmarkAppend(b *testing.B) {
	l := openTest(b, testOptions(b.TempDir()))
	defer l.Close()
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := l.Append(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSync1 and BenchmarkSync16: writers that each append a 4 KiB
// record and wait for it to be durable, one at a time. Group commit is
// what lets 16 writers get several times the records/s of one.
func BenchmarkSync1(b *testing.B)  { benchmarkSync(b, 1) }
func BenchmarkSync16(b *testing.B) { benchmarkSync(b, 16) }

func benchmarkSync(b *testing.B, writers int) {
	l := openTest(b, testOptions(b.TempDir()))
	defer l.Close()
	data := make([]byte, 4096)
	b.SetBytes(int64(len(data)))
	rounds := l.rounds
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				lsn, err := l.Append(data)
				if err == nil {
					err = l.Sync(context.Background(), lsn)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	l.mu.Lock()
	rounds = l.rounds - rounds
	l.mu.Unlock()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/float64(max(rounds, 1)), "records/fdatasync")
}

// BenchmarkNext: a consumer reading 4 KiB records in batches of 64.
func BenchmarkNext(b *testing.B) {
	l := openTest(b, testOptions(b.TempDir()))
	defer l.Close()
	c, err := l.Consumer("r")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 4096)
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = data
	}
	for n := 0; n < b.N; n += len(batch) {
		if _, err := l.AppendBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for got := 0; got < b.N; {
		recs, err := c.Next(context.Background(), 64, 0)
		if err != nil {
			b.Fatal(err)
		}
		got += len(recs)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
