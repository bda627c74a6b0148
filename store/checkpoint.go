package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointPause is the least time between two background checkpoints, so
// that a busy writer's many commits cost one checkpoint, not one each.
const checkpointPause = 250 * time.Millisecond

// startCheckpointer opens a connection for checkpoints and starts the
// goroutine that runs them. The writer connection's own automatic checkpoint
// is set so high (wal_autocheckpoint in Open) that it only acts as a safety
// valve should this goroutine fall far behind.
func (db *DB) startCheckpointer(ctx context.Context, dsn string) error {
	var err error
	db.ckpt, err = sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("open checkpointer: %w", err)
	}
	db.ckpt.SetMaxOpenConns(1)
	db.ckpt.SetMaxIdleConns(1)
	db.ckpt.SetConnMaxIdleTime(0)
	db.ckpt.SetConnMaxLifetime(0)
	if err := db.ckpt.PingContext(ctx); err != nil {
		db.ckpt.Close()
		db.ckpt = nil
		return fmt.Errorf("open checkpointer: %w", err)
	}
	db.ckptKick = make(chan struct{}, 1)
	db.ckptStop = make(chan struct{})
	db.ckptDone = make(chan struct{})
	go db.checkpointLoop()
	return nil
}

// kickCheckpointer tells the checkpointer that the WAL has grown.
func (db *DB) kickCheckpointer() {
	if db.ckptKick == nil {
		return
	}
	select {
	case db.ckptKick <- struct{}{}:
	default: // already due
	}
}

// checkpointLoop runs a PASSIVE checkpoint after commits, at most every
// checkpointPause. PASSIVE never blocks the writer or readers; the WAL
// restarts from its beginning once a checkpoint has caught up.
func (db *DB) checkpointLoop() {
	defer close(db.ckptDone)
	pause := time.NewTimer(0)
	<-pause.C
	for {
		select {
		case <-db.ckptStop:
			return
		case <-db.ckptKick:
		}
		if _, err := db.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			db.log.Warn("store: checkpoint", "err", err)
		}
		pause.Reset(checkpointPause)
		select {
		case <-db.ckptStop:
			return
		case <-pause.C:
		}
	}
}

// stopCheckpointer stops the goroutine and closes its connection.
func (db *DB) stopCheckpointer() error {
	if db.ckpt == nil {
		return nil
	}
	close(db.ckptStop)
	<-db.ckptDone
	err := db.ckpt.Close()
	db.ckpt = nil
	return err
}
