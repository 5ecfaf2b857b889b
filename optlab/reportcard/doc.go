// Package reportcard turns sweep records into the optimizer report card of
// notebook 09 and `optlab report`: per optimizer family and setting, the best
// learning rate, test accuracy over seeds, the train–test gap, epochs to a
// target validation accuracy, learning-rate sensitivity, optimizer state and
// time per step, as tables (text, Markdown, HTML) and figures.
//
// It reads records (sweep.Record), whichever store they came from; it must
// not import optlab/store or cmd.
package reportcard
