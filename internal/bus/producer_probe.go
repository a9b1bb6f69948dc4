package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nsqio/go-nsq"
)

// probeTopic is not a valid topic name: nsqd refuses a PUB to it with
// E_BAD_TOPIC, which it checks only after the connection's TLS policy.
const probeTopic = "!wharf-probe"

// probe checks on a separate connection that nsqd at addr accepts commands
// from a client configured like cfg. go-nsq's Ping only writes NOP, which
// nsqd answers only when it refuses it, so a plain client of an nsqd with
// --tls-required would pass it and fail every publish. probe sends a PUB
// nsqd must refuse for its topic name: E_BAD_TOPIC means the connection
// (TLS, AUTH) is acceptable; any other answer is the reason it is not.
func probe(ctx context.Context, addr string, cfg *nsq.Config) error {
	d := &probeDelegate{result: make(chan error, 1), closed: make(chan struct{})}
	conn := nsq.NewConn(addr, cfg, d)
	connected := make(chan error, 1)
	go func() {
		_, err := conn.Connect()
		connected <- err
	}()
	select {
	case err := <-connected:
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("cannot connect: %w", err)
		}
	case <-ctx.Done():
		go func() {
			if <-connected == nil {
				_ = conn.Close()
			}
		}()
		return fmt.Errorf("no answer from nsqd: %w", ctx.Err())
	}
	defer func() {
		_ = conn.Close()
		select { // nsqd closes the connection after its error answer
		case <-d.closed:
		case <-ctx.Done():
		}
	}()
	if err := conn.WriteCommand(nsq.Publish(probeTopic, []byte("x"))); err != nil {
		return fmt.Errorf("cannot write to nsqd: %w", err)
	}
	select {
	case err := <-d.result:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer from nsqd: %w", ctx.Err())
	}
}

// probeDelegate turns the first answer on a probe connection into a result.
type probeDelegate struct {
	result chan error
	closed chan struct{}
}

func (d *probeDelegate) set(err error) {
	select {
	case d.result <- err:
	default:
	}
}

func (d *probeDelegate) OnError(_ *nsq.Conn, data []byte) {
	if bytes.HasPrefix(data, []byte("E_BAD_TOPIC")) {
		d.set(nil)
		return
	}
	d.set(errors.New(string(data)))
}

func (d *probeDelegate) OnResponse(_ *nsq.Conn, data []byte) {
	d.set(fmt.Errorf("unexpected answer %q to a PUB with an invalid topic", data))
}

func (d *probeDelegate) OnIOError(_ *nsq.Conn, err error) { d.set(err) }

func (d *probeDelegate) OnClose(*nsq.Conn) {
	d.set(errors.New("nsqd closed the connection"))
	close(d.closed)
}

func (d *probeDelegate) OnMessage(*nsq.Conn, *nsq.Message)         {}
func (d *probeDelegate) OnMessageFinished(*nsq.Conn, *nsq.Message) {}
func (d *probeDelegate) OnMessageRequeued(*nsq.Conn, *nsq.Message) {}
func (d *probeDelegate) OnBackoff(*nsq.Conn)                       {}
func (d *probeDelegate) OnContinue(*nsq.Conn)                      {}
func (d *probeDelegate) OnResume(*nsq.Conn)                        {}
func (d *probeDelegate) OnHeartbeat(*nsq.Conn)                     {}
