import Myelin
print(Tensor([[1, 2], [3, 4]]))
