// The activations of the search spaces and their derivatives.
#pragma once
#include "kernels.h"

// Activation codes; 0..4 are tensor.Act's, 5 is the logistic sigmoid.
enum { ACT_NONE, ACT_RELU, ACT_RELU6, ACT_HSWISH, ACT_HSIGMOID, ACT_SIGMOID };

DEV float act_apply(int act, float z) {
	switch (act) {
	case ACT_RELU:
		return gk_max(z, 0.f);
	case ACT_RELU6:
		return gk_min(gk_max(z, 0.f), 6.f);
	case ACT_HSWISH:
		return z * gk_min(gk_max(z + 3.f, 0.f), 6.f) * (1.f / 6.f);
	case ACT_HSIGMOID:
		return gk_min(gk_max(z + 3.f, 0.f), 6.f) * (1.f / 6.f);
	case ACT_SIGMOID:
		return 1.f / (1.f + gk_exp(-z));
	}
	return z;
}

// act_deriv matches the CPU engine's one-sided choices (PyTorch's).
DEV float act_deriv(int act, float z) {
	switch (act) {
	case ACT_NONE:
		return 1.f;
	case ACT_RELU:
		return z > 0.f ? 1.f : 0.f;
	case ACT_RELU6:
		return (z > 0.f && z < 6.f) ? 1.f : 0.f;
	case ACT_HSWISH:
		if (z > 3.f)
			return 1.f;
		return z >= -3.f ? z * (1.f / 3.f) + 0.5f : 0.f;
	case ACT_HSIGMOID:
		return (z > -3.f && z < 3.f) ? 1.f / 6.f : 0.f;
	case ACT_SIGMOID: {
		float s = 1.f / (1.f + gk_exp(-z));
		return s * (1.f - s);
	}
	}
	return 0.f;
}

