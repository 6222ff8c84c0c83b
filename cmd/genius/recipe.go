package main

import (
	"reflect"
	"strings"

	"github.com/spf13/pflag"

	"github.com/genius-nas/genius/specs/recipe"
)

// addRecipeFlags registers a flag for each setting of a training recipe
// that a person tunes by hand, with genius train's defaults (the engine's,
// and the dropout and weight decay mobilenetv2-imagenet is trained with).
func addRecipeFlags(fs *pflag.FlagSet, r *recipe.Recipe) {
	fs.IntVar(&r.Epochs, "epochs", 1, "epochs to train")
	fs.IntVar(&r.Steps, "steps", 0, "cap on optimiser steps (0: epochs decide)")
	fs.IntVar(&r.Batch, "batch", 64, "batch size")
	fs.IntVar(&r.MicroBatch, "micro-batch", 0, "train each batch in micro-batches of this size (a divisor of --batch), accumulating gradients: less memory, same step (0: whole batch)")
	fs.Float64Var(&r.LR, "lr", 0.05, "peak learning rate (warm-up then cosine)")
	fs.Float64Var(&r.Momentum, "momentum", recipe.DefaultMomentum, "SGD momentum (negative: none)")
	fs.BoolVar(&r.Nesterov, "nesterov", false, "Nesterov momentum")
	fs.Float64Var(&r.WeightDecay, "weight-decay", 1e-4, "weight decay on convolution and linear weights")
	fs.Float64Var(&r.WarmupEpochs, "warmup-epochs", 0, "epochs of linear learning-rate warm-up")
	fs.Float64Var(&r.LabelSmoothing, "label-smoothing", 0, "label smoothing of the loss")
	fs.Float64Var(&r.EMADecay, "ema", 0, "EMA decay of the weights (0: off); the EMA network is evaluated")
	fs.Float64Var(&r.ClipNorm, "clip-norm", 0, "clip the global gradient norm to this (0: off)")
	fs.Float64Var(&r.Dropout, "dropout", 0.2, "dropout before mobilenetv2-imagenet's classifier (0: none)")
	fs.Float64Var(&r.MinScale, "min-scale", 0.08, "smallest area share of random-resized-crop (0.08 as for ImageNet; about 0.35 suits CIFAR)")
	fs.IntVar(&r.RandAugmentN, "randaugment-n", 0, "RandAugment operations per image (0: off)")
	fs.IntVar(&r.RandAugmentM, "randaugment-m", 0, "RandAugment magnitude, out of 10")
	fs.Float64Var(&r.RandomErasing, "random-erasing", 0, "probability of erasing a rectangle of a training image (0: off)")
	fs.Uint64Var(&r.Seed, "seed", 0, "seed for initialisation, data order and augmentation")
}

// recipeFlagNames adds to names the flag of each recipe field that has one
// (addRecipeFlags): its JSON name with dashes ("micro_batch":
// --micro-batch), or --ema for EMADecay.
func recipeFlagNames(names map[string]string) map[string]string {
	fs := pflag.NewFlagSet("recipe", pflag.ContinueOnError)
	addRecipeFlags(fs, &recipe.Recipe{})
	for _, f := range reflect.VisibleFields(reflect.TypeFor[recipe.Recipe]()) {
		flag := strings.ReplaceAll(recipe.JSONName(f.Name), "_", "-")
		if f.Name == "EMADecay" {
			flag = "ema"
		}
		if fs.Lookup(flag) != nil {
			names[f.Name] = "--" + flag
		}
	}
	return names
}
