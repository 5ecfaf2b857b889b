// Package bench measures optlab's speed and memory: training throughput and
// time to the first step through the same loop as optlab.Train (Training),
// the cost of an optimizer's update alone (Update), what training keeps in
// memory between steps (Memory), the throughput of a learning-rate sweep
// trained as one population next to the model trained alone (Population),
// and a run of all of these for `optlab bench` (Run, Report).
//
// It builds on the runner (optlab); it must not import sweeps, stores,
// landscapes, populations (it takes population.Train as a function) or cmd.
package bench
