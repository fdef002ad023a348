import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

# HW4: conv + maxpool with stride tricks and einsum (no python loops)


def windows2d(a, fw, fh):
    """(N, C, W, H) -> read-only view (N, C, W-fw+1, H-fh+1, fw, fh)"""
    return sliding_window_view(a, (fw, fh), axis=(2, 3))


class nn_convolutional_layer:

    def __init__(self, filter_width, filter_height, input_size, in_ch_size, num_filters, std=1e0):
        # initialization of weights
        self.W = np.random.normal(0, std / np.sqrt(in_ch_size * filter_width * filter_height / 2),
                                  (num_filters, in_ch_size, filter_width, filter_height))
        self.b = 0.01 + np.zeros((1, num_filters, 1, 1))
        self.input_size = input_size

    def update_weights(self, dW, db):
        self.W += dW
        self.b += db

    def get_weights(self):
        return self.W, self.b

    def set_weights(self, W, b):
        self.W = W
        self.b = b

    def forward(self, x):
        fw, fh = self.W.shape[2], self.W.shape[3]
        cols = windows2d(x, fw, fh)
        y = np.einsum('ncijpq,fcpq->nfij', cols, self.W, optimize=True)
        return y + self.b

    def backprop(self, x, dLdy):
        fw, fh = self.W.shape[2], self.W.shape[3]

        # dW[f,c,p,q] = sum_n,i,j dLdy[n,f,i,j] * x[n,c,i+p,j+q]
        dLdW = np.einsum('nfij,ncijpq->fcpq', dLdy, windows2d(x, fw, fh), optimize=True)

        # db: sum over batch and space, keep (1, F, 1, 1)
        dLdb = np.sum(dLdy, axis=(0, 2, 3), keepdims=True)

        # dx = full correlation of dLdy with the 180 deg rotated filters
        dpad = np.pad(dLdy, ((0, 0), (0, 0), (fw - 1, fw - 1), (fh - 1, fh - 1)))
        W_rot = self.W[:, :, ::-1, ::-1]
        dLdx = np.einsum('nfijpq,fcpq->ncij', windows2d(dpad, fw, fh), W_rot, optimize=True)

        return dLdx, dLdW, dLdb


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride = stride
        self.pool_size = pool_size

    def _pool_view(self, x):
        """(N, C, H, W) -> (N, C, out_h, out_w, k, k) strided view of the pooling windows"""
        N, C, H, W = x.shape
        k, s = self.pool_size, self.stride
        out_h = (H - k) // s + 1
        out_w = (W - k) // s + 1
        sN, sC, sH, sW = x.strides
        return as_strided(x, shape=(N, C, out_h, out_w, k, k),
                          strides=(sN, sC, sH * s, sW * s, sH, sW), writeable=False)

    def forward(self, x):
        return self._pool_view(x).max(axis=(4, 5))

    def backprop(self, x, dLdy):
        N, C, H, W = x.shape
        k, s = self.pool_size, self.stride
        win = self._pool_view(x)
        out_h, out_w = win.shape[2], win.shape[3]

        arg = win.reshape(N, C, out_h, out_w, k * k).argmax(axis=-1)
        r, c = np.divmod(arg, k)
        rows = np.arange(out_h)[None, None, :, None] * s + r
        cols = np.arange(out_w)[None, None, None, :] * s + c
        n_idx = np.arange(N)[:, None, None, None]
        c_idx = np.arange(C)[None, :, None, None]

        dLdx = np.zeros(x.shape)
        np.add.at(dLdx, (n_idx, c_idx, rows, cols), dLdy)   # add.at: overlapping windows
        return dLdx


##########
#   test code
#   (provided with the assignment -- do not modify)
##########

# set default type to float64
np.set_printoptions(precision=5)

batch_size = 8
input_size = 32
filter_width = 3
filter_height = filter_width
in_ch_size = 3
num_filters = 8

std = 1e0
dt = 1e-3

# number of test loops
num_test = 20

# error parameters
err_dLdb = 0
err_dLdx = 0
err_dLdW = 0
err_dLdx_pool = 0

# create convolutional layer and max pooling layer objects
cnv = nn_convolutional_layer(filter_width, filter_height, input_size, in_ch_size, num_filters, std)
mpl = nn_max_pooling_layer(stride=2, pool_size=2)

for i in range(num_test):
    ##########
    # dLdx test
    ##########
    print('test #%d' % i)

    x = np.random.normal(0, 1, (batch_size, in_ch_size, input_size, input_size))
    delta = np.random.normal(0, 1, x.shape) * dt

    y1 = cnv.forward(x)
    y2 = cnv.forward(x + delta)

    bp, _, _ = cnv.backprop(x, np.ones(y1.shape))

    exact_dx = np.sum(y2 - y1) / dt
    apprx_dx = np.sum(delta * bp) / dt
    print('conv layer dLdx: exact %.5f, approx %.5f' % (exact_dx, apprx_dx))

    err_dLdx += abs((apprx_dx - exact_dx) / exact_dx) / num_test * 100

    ##########
    # dLdW test
    ##########
    W, b = cnv.get_weights()
    dW = np.random.normal(0, 1, W.shape) * dt
    db = np.zeros(b.shape)

    z1 = cnv.forward(x)
    _, bpw, _ = cnv.backprop(x, np.ones(z1.shape))
    cnv.update_weights(dW, db)
    z2 = cnv.forward(x)

    exact_dW = np.sum(z2 - z1) / dt
    apprx_dW = np.sum(dW * bpw) / dt
    print('conv layer dLdW: exact %.5f, approx %.5f' % (exact_dW, apprx_dW))

    err_dLdW += abs((apprx_dW - exact_dW) / exact_dW) / num_test * 100

    # restore the original weights
    cnv.update_weights(-dW, -db)

    ##########
    # dLdb test
    ##########
    W, b = cnv.get_weights()
    dW = np.zeros(W.shape)
    db = np.random.normal(0, 1, b.shape) * dt

    z1 = cnv.forward(x)

    V = np.random.normal(0, 1, z1.shape)

    _, _, bpb = cnv.backprop(x, V)

    cnv.update_weights(dW, db)
    z2 = cnv.forward(x)

    exact_db = np.sum(V * (z2 - z1)) / dt
    apprx_db = np.sum(db * bpb) / dt
    print('conv layer dLdb: exact %.5f, approx %.5f' % (exact_db, apprx_db))

    err_dLdb += abs((apprx_db - exact_db) / exact_db) / num_test * 100

    # restore the original weights
    cnv.update_weights(-dW, -db)

    ##########
    # max pooling dLdx test
    ##########
    x = np.arange(batch_size * in_ch_size * input_size * input_size).reshape(
        (batch_size, in_ch_size, input_size, input_size)) + 1
    delta = np.random.normal(0, 1, x.shape) * dt

    y1 = mpl.forward(x)
    dLdy = np.random.normal(0, 10, y1.shape)
    bpm = mpl.backprop(x, dLdy)

    y2 = mpl.forward(x + delta)

    exact_dx_pool = np.sum(dLdy * (y2 - y1)) / dt
    apprx_dx_pool = np.sum(delta * bpm) / dt
    print('max pooling dLdx: exact %.5f, approx %.5f' % (exact_dx_pool, apprx_dx_pool))

    err_dLdx_pool += abs((apprx_dx_pool - exact_dx_pool) / exact_dx_pool) / num_test * 100

# reporting accuracy results.
print('accuracy results')
print('conv layer dLdx', 100 - err_dLdx, '%')
print('conv layer dLdW', 100 - err_dLdW, '%')
print('conv layer dLdb', 100 - err_dLdb, '%')
print('maxpool layer dLdx', 100 - err_dLdx_pool, '%')
