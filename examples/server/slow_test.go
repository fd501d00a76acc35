package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"bounded.dev/dflag"
	"bounded.dev/middleware"
	"bounded.dev/tracing"
)

// TestProductionTimeouts: the server the command runs has every limit a
// production server needs.
func TestProductionTimeouts(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), slog.New(slog.DiscardHandler), productionTimeouts)
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes >= http.DefaultMaxHeaderBytes {
		t.Fatalf("server limits %+v", productionTimeouts)
	}
}

// TestSlowClientsFreeSlots: slow clients that opt in (POSTs to the console
// that trickle their body, requests that trickle their headers) hold the
// opt-in slots only until the server's read timeout: then every
// request_tracing activation is released, their connections are closed,
// and a new traced request is admitted. The real handler, the real server
// with the command's timeouts scaled down.
func TestSlowClientsFreeSlots(t *testing.T) {
	if err := dflag.Init(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	tel, err := newTelemetry(context.Background(), logger)
	if err != nil {
		t.Fatal(err)
	}
	defer tel.shutdown(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	base := "http://" + addr
	const readTimeout = time.Second
	limits := timeouts{readHeader: readTimeout / 2, read: readTimeout, write: 2 * readTimeout, idle: 5 * time.Second, maxHeaderBytes: 64 << 10}
	srv := newServer(newHandler(logger, tel, base, access{}, nil), logger, limits)
	go srv.Serve(ln)
	defer srv.Close()

	const trickleFor = 15 * time.Second // far longer than the read timeout
	start := time.Now()
	var wg sync.WaitGroup
	closed := make(chan time.Duration, 64)
	slow := func(head, drip string) {
		defer wg.Done()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		go func() { // notices when the server closes the connection
			io.Copy(io.Discard, c)
			closed <- time.Since(start)
		}()
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		for time.Since(start) < trickleFor {
			time.Sleep(100 * time.Millisecond)
			if _, err := io.WriteString(c, drip); err != nil {
				return // the server closed the connection
			}
		}
	}
	const bodies, headers = 40, 8 // 40 is more than the opt-in burst (32)
	for range bodies {
		wg.Add(1)
		go slow("POST /debug/dflag/flags?tracing=1 HTTP/1.1\r\nHost: "+addr+
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nop=", "a")
	}
	for range headers {
		wg.Add(1)
		go slow("GET /items/1?tracing=1 HTTP/1.1\r\nHost: "+addr+"\r\n", "X-Slow: 1\r\n")
	}

	// The attack holds slots: the admitted slow POSTs hold request_tracing
	// and no new opt-in gets through.
	held := 0
	for deadline := time.Now().Add(readTimeout / 2); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if held = tracing.Kind.Holders(); held >= middleware.DefaultBurst {
			break
		}
	}
	if held < middleware.DefaultBurst {
		t.Fatalf("only %d slow requests hold request_tracing: the attack did not take the slots", held)
	}
	if resp, _ := get(t, base+"/items/2?tracing=1"); resp.Header.Get("Traceresponse") != "" {
		t.Fatal("a new opt-in was admitted while the slow clients held the slots")
	}

	// The read timeout frees them, long before the clients stop.
	for tracing.Kind.Holders() != 0 {
		if time.Since(start) > readTimeout+3*time.Second {
			t.Fatalf("%d slow requests still hold request_tracing %v after they started", tracing.Kind.Holders(), time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range bodies + headers {
		select {
		case d := <-closed:
			if d > readTimeout+3*time.Second {
				t.Fatalf("a slow connection was closed after %v", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a slow connection is still open")
		}
	}
	wg.Wait()

	// A new traced request is admitted (the bucket refills at 10/s).
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, _ := get(t, base+"/items/2?tracing=1")
		if resp.Header.Get("Traceresponse") != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no traced request admitted after the slow clients: %s", resp.Header.Get(middleware.RefusedHeader))
		}
	}
}
