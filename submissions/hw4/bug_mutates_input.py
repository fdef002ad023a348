import numpy as np


class nn_convolutional_layer:

    def __init__(self, filter_width, filter_height, input_size, in_ch_size, num_filters, std=1e0):
        # initialization of weights
        self.W = np.random.normal(0, std / np.sqrt(in_ch_size * filter_width * filter_height / 2),
                                  (num_filters, in_ch_size, filter_width, filter_height))
        self.b = 0.01 + np.zeros((1, num_filters, 1, 1))
        self.input_size = input_size

        #######
        ## If necessary, you can define additional class variables here
        #######

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
        F, _, kh, kw = self.W.shape
        oh, ow = H - kh + 1, W - kw + 1
        y = np.zeros((B, F, oh, ow))
        for p in range(kh):
            for q in range(kw):
                y += np.tensordot(x[:, :, p:p + oh, q:q + ow], self.W[:, :, p, q],
                                  axes=([1], [1])).transpose(0, 3, 1, 2)
        return y + self.b

    def backprop(self, x, dLdy):
        B, C, H, W = x.shape
        F, _, kh, kw = self.W.shape
        oh, ow = H - kh + 1, W - kw + 1
        dLdx = np.zeros(x.shape)
        dLdW = np.zeros(self.W.shape)
        for p in range(kh):
            for q in range(kw):
                dLdW[:, :, p, q] = np.tensordot(dLdy, x[:, :, p:p + oh, q:q + ow], axes=([0, 2, 3], [0, 2, 3]))
                dLdx[:, :, p:p + oh, q:q + ow] += np.tensordot(dLdy, self.W[:, :, p, q],
                                                               axes=([1], [0])).transpose(0, 3, 1, 2)
        dLdb = dLdy.sum(axis=(0, 2, 3)).reshape(1, F, 1, 1)
        return dLdx, dLdW, dLdb


class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride = stride
        self.pool_size = pool_size

    def forward(self, x):
        B, C, H, W = x.shape
        k, s = self.pool_size, self.stride
        oh, ow = (H - k) // s + 1, (W - k) // s + 1

        # shift everything to be >= 0 so that the zero-initialised running max works
        shift = x.min()
        x -= shift

        out = np.zeros((B, C, oh, ow))
        for p in range(k):
            for q in range(k):
                out = np.maximum(out, x[:, :, p:p + s * (oh - 1) + 1:s, q:q + s * (ow - 1) + 1:s])
        return out + shift

    def backprop(self, x, dLdy):
        B, C, H, W = x.shape
        k, s = self.pool_size, self.stride
        oh, ow = (H - k) // s + 1, (W - k) // s + 1
        dLdx = np.zeros(x.shape)
        for i in range(oh):
            for j in range(ow):
                patch = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(B, C, -1)
                m = patch.argmax(axis=2)
                dLdx[np.arange(B)[:, None], np.arange(C)[None, :], i * s + m // k, j * s + m % k] += dLdy[:, :, i, j]
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
