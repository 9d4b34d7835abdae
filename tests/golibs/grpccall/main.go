// grpccall: a gRPC unary call (the health service) to a server in the same program, built from
// Debian's golang-google-grpc-dev in GOPATH mode (tests/golibs.sh).
//
//	grpccall ok          the server answers: a healthy run
//	grpccall nodeadline  the server never answers, the call has no deadline; given up after 3 s
//	grpccall deadline    the server never answers, the call has a 2 s deadline (the handler
//	                     ends at it: the server's status answers the call)
//	grpccall deaf        the handler never returns; three tries of the call, 1.2 s deadline each,
//	                     on the same connection
//	grpccall many        the server answers: calls one after another for 3 s, each within 5 s
//	grpccall dead        a blocking Dial, for 2.5 s, of a port nothing listens on
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type server struct {
	healthpb.UnimplementedHealthServer
	hang bool
	deaf bool
}

func (s *server) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if s.deaf {
		select {} // a handler stuck for good, whatever the client does
	}
	if s.hang {
		<-ctx.Done() // a handler stuck until the client goes
		return nil, ctx.Err()
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func main() {
	mode := os.Args[1]
	if mode == "dead" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		ln.Close() // nothing listens there now
		ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		_, err = grpc.DialContext(ctx, ln.Addr().String(), grpc.WithInsecure(), grpc.WithBlock()) // the program's dial
		fmt.Println("grpccall:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, &server{hang: mode == "nodeadline" || mode == "deadline", deaf: mode == "deaf"})
	go gs.Serve(ln)
	conn, err := grpc.Dial(ln.Addr().String(), grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		panic(err)
	}
	hc := healthpb.NewHealthClient(conn)
	ctx := context.Background()
	switch mode {
	case "deaf":
		for try := 1; try <= 3; try++ {
			err = check(hc, 1200*time.Millisecond)
			fmt.Println("grpccall: try", try, err)
		}
		os.Exit(1)
	case "many":
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
			if err := check(hc, 5*time.Second); err != nil {
				fmt.Println("grpccall:", err)
				os.Exit(1)
			}
		}
	case "deadline":
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
	case "nodeadline":
		go func() { time.Sleep(3 * time.Second); fmt.Println("grpccall: gave up"); os.Exit(1) }()
	}
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "x"}) // the program's call
	if err != nil {
		fmt.Println("grpccall:", err)
		os.Exit(1)
	}
	fmt.Println("grpccall:", resp.Status)
	conn.Close()
}

// check asks once, within d.
func check(hc healthpb.HealthClient, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "x"}) // a call that may time out
	return err
}
