package actors

import (
	"context"
	"runtime/pprof"
)

// SerialLabel is the pprof label key that marks the goroutines of the shows'
// serial path: its value is SerialActor on the show actors' dispatcher
// (mailbox turns) and SerialWriter on their writers (and the Redis
// checkpoints they start). A CPU profile's samples with these labels are
// the CPU time of the serial path (bench/serial reads them). The writers'
// answerers (they send the answers of durable batches, beside the writer)
// are marked SerialAnswers: not on the serial path, shown apart.
const SerialLabel = "boxoffice.serial"

// Values of SerialLabel.
const (
	SerialActor  = "actor"
	SerialWriter = "writer"
	// SerialAnswers: a writer's answerer, off the serial path
	SerialAnswers = "answers"
)

var (
	actorLabels  = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialActor))
	writerLabels = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialWriter))
	answerLabels = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialAnswers))
)
