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
// are marked SerialAnswers, their checkpointers (they write the state rows
// of durable batches) SerialCheckpoint and the encoders of batches' records
// SerialEncode: not on the serial path, shown apart.
const SerialLabel = "boxoffice.serial"

// Values of SerialLabel.
const (
	SerialActor  = "actor"
	SerialWriter = "writer"
	// SerialAnswers: a writer's answerer, off the serial path
	SerialAnswers = "answers"
	// SerialCheckpoint: a writer's checkpointer (it writes the state rows
	// of durable batches beside the writer), off the serial path
	SerialCheckpoint = "checkpoint"
	// SerialEncode: the goroutines that encode a batch's records for the
	// journal and Redis (encodeRecords), beside the actor and the writer:
	// off the serial path
	SerialEncode = "encode"
)

var (
	actorLabels      = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialActor))
	writerLabels     = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialWriter))
	answerLabels     = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialAnswers))
	checkpointLabels = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialCheckpoint))
	encodeLabels     = pprof.WithLabels(context.Background(), pprof.Labels(SerialLabel, SerialEncode))
)
