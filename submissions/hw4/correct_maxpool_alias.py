import numpy as np
from skimage.util.shape import view_as_windows


def get_im2col_indices(C, H, W, fh, fw):
    """index arrays (k, i, j) such that x[:, k, i, j] is the (C*fh*fw, out_h*out_w) column matrix"""
    out_h = H - fh + 1
    out_w = W - fw + 1
    i0 = np.tile(np.repeat(np.arange(fh), fw), C)
    i1 = np.repeat(np.arange(out_h), out_w)
    j0 = np.tile(np.arange(fw), fh * C)
    j1 = np.tile(np.arange(out_w), out_h)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)
    k = np.repeat(np.arange(C), fh * fw).reshape(-1, 1)
    return k, i, j


##########
#   convolutional layer
##########

class nn_convolutional_layer:

    def __init__(self, Wx_size, Wy_size, input_size, in_ch_size, out_ch_size, std=1e0):
        # initialization of weights
        self.W = np.random.normal(0, std / np.sqrt(in_ch_size * Wx_size * Wy_size / 2),
                                  (out_ch_size, in_ch_size, Wx_size, Wy_size))
        self.b = 0.01 + np.zeros((1, out_ch_size, 1, 1))
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
        B, C, H, W = x.shape
        F, _, fh, fw = self.W.shape
        out_h, out_w = H - fh + 1, W - fw + 1
        k, i, j = get_im2col_indices(C, H, W, fh, fw)
        cols = x[:, k, i, j]                                   # (B, C*fh*fw, out_h*out_w)
        out = np.matmul(self.W.reshape(F, -1), cols)           # (B, F, out_h*out_w)
        return out.reshape(B, F, out_h, out_w) + self.b

    def backprop(self, x, dLdy):
        B, C, H, W = x.shape
        F, _, fh, fw = self.W.shape
        k, i, j = get_im2col_indices(C, H, W, fh, fw)
        cols = x[:, k, i, j]                                   # (B, C*fh*fw, L)
        dy = dLdy.reshape(B, F, -1)                            # (B, F, L)

        dLdW = np.einsum('bfl,bkl->fk', dy, cols).reshape(self.W.shape)
        dLdb = dy.sum(axis=(0, 2)).reshape(1, F, 1, 1)

        dcols = np.matmul(self.W.reshape(F, -1).T, dy)         # (B, C*fh*fw, L)
        dLdx = np.zeros(x.shape)
        np.add.at(dLdx, (slice(None), k, i, j), dcols)         # col2im
        return dLdx, dLdW, dLdb


##########
#   max pooling layer
##########

class nn_maxpool_layer:
    def __init__(self, stride, pool_size):
        self.stride = stride
        self.pool_size = pool_size

    def forward(self, x):
        win = view_as_windows(x, (1, 1, self.pool_size, self.pool_size),
                              step=(1, 1, self.stride, self.stride))
        return win.max(axis=(4, 5, 6, 7))

    def backprop(self, x, dLdy):
        ps, st = self.pool_size, self.stride
        win = view_as_windows(x, (1, 1, ps, ps), step=(1, 1, st, st))
        B, C, oh, ow = win.shape[:4]
        win = win.reshape(B, C, oh, ow, ps * ps)
        am = win.argmax(axis=4)
        dLdx = np.zeros(x.shape)
        for n in range(B):
            for c in range(C):
                for i in range(oh):
                    for j in range(ow):
                        r, s = divmod(am[n, c, i, j], ps)
                        dLdx[n, c, i * st + r, j * st + s] += dLdy[n, c, i, j]
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
mpl = nn_maxpool_layer(stride=2, pool_size=2)

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
