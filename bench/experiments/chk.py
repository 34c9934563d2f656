from lib import *
from bot.embedded.features import Encoder
e = Encoder()
texts = list(TE["texts"][:200])
a = e.encode(texts)
b = dense(TE, [("mean", 4), ("mean", 5), ("mean", 6)])[:200] * np.sqrt(3)
print(np.abs(a - b).max(), (a * b).sum(1).min() / 3)
