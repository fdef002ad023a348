import numpy as np
from skimage.util.shape import view_as_windows


##########
#   convolutional layer
#   you can re-use your previous implementation, or modify it if necessary
##########

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

    #######
    # Q1. Complete this method
    #######
    def forward(self, x):
        batch_size, in_ch, in_width, in_height = x.shape
        num_filters, _, fw, fh = self.W.shape
        out_width = in_width - fw + 1
        out_height = in_height - fh + 1

        windows = view_as_windows(x, (1, in_ch, fw, fh)).reshape(batch_size, out_width, out_height, -1)
        out = windows.dot(self.W.reshape(num_filters, -1).T).transpose(0, 3, 1, 2)
        return out + self.b

    #######
    # Q2. Complete this method
    #######
    def backprop(self, x, dLdy):
        batch_size, in_ch, in_width, in_height = x.shape
        num_filters, _, fw, fh = self.W.shape
        out_width = in_width - fw + 1
        out_height = in_height - fh + 1

        # dLdb
        dLdb = np.sum(dLdy, axis=(0, 2, 3)).reshape(1, num_filters, 1, 1)

        # dLdW
        windows = view_as_windows(x, (1, in_ch, fw, fh)).reshape(batch_size, out_width, out_height, in_ch, fw, fh)
        dLdW = np.tensordot(dLdy, windows, axes=([0, 2, 3], [0, 1, 2]))

        # dLdx: full convolution -> zero pad dLdy by 2 on every side
        pad = 2
        dLdy_pad = np.pad(dLdy, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
        W_flip = self.W[:, :, ::-1, ::-1]
        dwin = view_as_windows(dLdy_pad, (1, num_filters, fw, fh))
        dwin = dwin.reshape(dwin.shape[0], dwin.shape[2], dwin.shape[3], num_filters, fw, fh)
        dLdx = np.tensordot(dwin, W_flip, axes=([3, 4, 5], [0, 2, 3])).transpose(0, 3, 1, 2)

        return dLdx, dLdW, dLdb


##########
#   max pooling layer
#   you can re-use your previous implementation, or modify it if necessary
##########

class nn_max_pooling_layer:
    def __init__(self, stride, pool_size):
        self.stride = stride
        self.pool_size = pool_size
        #######
        ## If necessary, you can define additional class variables here
        #######

    #######
    # Q3. Complete this method
    #######
    def forward(self, x):
        p, s = self.pool_size, self.stride
        win = view_as_windows(x, (1, 1, p, p), step=(1, 1, s, s))
        return win.max(axis=(4, 5, 6, 7))

    #######
    # Q4. Complete this method
    #######
    def backprop(self, x, dLdy):
        p, s = self.pool_size, self.stride
        win = view_as_windows(x, (1, 1, p, p), step=(1, 1, s, s))
        B, C, oh, ow = win.shape[:4]
        idx = win.reshape(B, C, oh, ow, p * p).argmax(axis=4)
        dLdx = np.zeros(x.shape)
        for i in range(oh):
            for j in range(ow):
                r = i * s + idx[:, :, i, j] // p
                c = j * s + idx[:, :, i, j] % p
                np.add.at(dLdx, (np.arange(B)[:, None], np.arange(C)[None, :], r, c), dLdy[:, :, i, j])
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
